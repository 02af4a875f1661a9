/* The --check-config summary. It prints the paths of secret files, never their contents. */
#include <stdio.h>
#include <sys/socket.h>

#include "config.h"
#include "macro.h"

static void print_events(FILE *f, event_mask mask) {
        bool first = true;

        if (mask == EVENT_MASK_ALL) {
                fputs("* (every event)", f);
                return;
        }
        for (int i = 0; i < _EVENT_MAX; i++)
                if (mask & EVENT_MASK(i)) {
                        fprintf(f, "%s%s", first ? "" : ", ", event_to_string((sentinel_event) i));
                        first = false;
                }
}

static void print_tls(FILE *f, const tls_conf *t) {
        if (!t->enabled) {
                fputs("  tls             off\n", f);
                return;
        }
        fputs("  tls             on", f);
        if (t->ca)
                fprintf(f, ", ca %s", t->ca);
        if (t->cert)
                fprintf(f, ", cert %s, key %s", t->cert, t->key);
        fprintf(f, ", verify server cert %s\n", t->verify_server_cert ? "yes" : "NO");
}

static void print_servers(FILE *f, const cluster_conf *cl) {
        fprintf(f, "  servers         %zu\n", cl->n_servers);
        /* Grouped by zone, zones in the order they first appear. */
        for (size_t i = 0; i < cl->n_servers; i++) {
                bool seen = false;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = streq(cl->servers[j].zone, cl->servers[i].zone);
                if (seen)
                        continue;
                fprintf(f, "    zone %s\n", cl->servers[i].zone);
                for (size_t j = i; j < cl->n_servers; j++) {
                        const server_conf *sv = &cl->servers[j];
                        hostport hp = {.host = sv->host, .port = sv->port, .family = sv->family};
                        char buf[HOSTPORT_FORMAT_MAX];

                        if (!streq(sv->zone, cl->servers[i].zone))
                                continue;
                        fprintf(f, "      %-16s %-24s priority %d, %s\n", sv->name,
                                hostport_format(&hp, buf, sizeof(buf)), sv->priority,
                                sv->promotable ? "promotable" : "not promotable");
                }
        }
}

static void print_endpoint(FILE *f, const endpoint_conf *e) {
        char buf[HOSTPORT_FORMAT_MAX], pbuf[IP_PREFIX_FORMAT_MAX];

        switch (e->type) {
        case ENDPOINT_DNS:
                fprintf(f, "    dns   %s in zone %s via %s, ttl %u s, ", e->dns.name, e->dns.zone,
                        hostport_format(&e->dns.server, buf, sizeof(buf)), (unsigned) e->dns.ttl);
                if (e->dns.tsig.name)
                        fprintf(f, "tsig key %s (%s, from %s)\n", e->dns.tsig.name,
                                tsig_algorithm_to_string(e->dns.tsig.algorithm), e->dns.tsig_key_file);
                else
                        fputs("unsigned updates (no tsig_key_file)\n", f);
                break;
        case ENDPOINT_VIP:
                fprintf(f, "    vip   %s on %s\n", ip_prefix_format(&e->vip.address, pbuf, sizeof(pbuf)),
                        e->vip.interface);
                break;
        case ENDPOINT_EXEC:
                fprintf(f, "    exec  %s (timeout %llu ms)\n", e->exec.command,
                        (unsigned long long) e->exec.timeout_ms);
                break;
        default:
                break;
        }
}

static void print_cluster(FILE *f, const config *c, const cluster_conf *cl) {
        fprintf(f, "cluster %s (line %u)\n", cl->name, cl->line);
        fprintf(f,
                "  quorum          %u of %zu sentinels must see the primary down; a leader needs %zu "
                "votes\n",
                cl->quorum, config_n_sentinels(c), config_majority(c));
        fprintf(f, "  user            %s (password from %s)\n", cl->user, cl->password.path);
        fprintf(f, "  replication     %s (password from %s)\n", cl->replication_user,
                cl->replication_password.path);
        print_tls(f, &cl->tls);
        print_servers(f, cl);
        fprintf(f, "  probe           every %llu ms, timeout %llu ms, down after %llu ms\n",
                (unsigned long long) cl->probe.interval_ms, (unsigned long long) cl->probe.timeout_ms,
                (unsigned long long) cl->probe.down_after_ms);
        fprintf(f, "  failover        %s, max lag %llu ms, cooldown %llu s, timeout %llu ms\n",
                cl->failover.automatic ? "automatic" : "MANUAL ONLY (auto = false)",
                (unsigned long long) cl->failover.max_lag_ms, (unsigned long long) cl->failover.cooldown_s,
                (unsigned long long) cl->failover.timeout_ms);
        fprintf(f, "  fencing         self-fence after %llu ms without a majority\n",
                (unsigned long long) cl->fencing.self_fence_after_ms);

        if (cl->n_endpoints == 0)
                fputs("  endpoints       none: clients are not repointed\n", f);
        else
                fprintf(f, "  endpoints       %zu\n", cl->n_endpoints);
        for (size_t i = 0; i < cl->n_endpoints; i++)
                print_endpoint(f, &cl->endpoints[i]);

        if (cl->n_hooks == 0)
                fputs("  hooks           none\n", f);
        else
                fprintf(f, "  hooks           %zu\n", cl->n_hooks);
        for (size_t i = 0; i < cl->n_hooks; i++) {
                const hook_conf *h = &cl->hooks[i];

                fprintf(f, "    %-6s %s (timeout %llu ms) on ", hook_class_to_string(h->class), h->command,
                        (unsigned long long) h->timeout_ms);
                print_events(f, h->event_mask);
                fputc('\n', f);
        }
}

void config_print_summary(const config *c, FILE *f) {
        const sentinel_conf *s = &c->sentinel;
        char buf[HOSTPORT_FORMAT_MAX];

        fprintf(f, "config %s\n", c->path);
        fprintf(f, "sentinel %s (zone %s)\n", s->name, s->zone);
        fprintf(f, "  listen          %s\n",
                s->listen.host ? hostport_format(&s->listen, buf, sizeof(buf)) : "none (no peers)");
        fprintf(f, "  control socket  %s\n", s->control_socket);
        if (s->control_group)
                fprintf(f, "  control group   %s (gid %u)\n", s->control_group, (unsigned) s->control_gid);
        else
                fprintf(f, "  control group   none (root and the daemon's user only)\n");
        fprintf(f, "  state dir       %s\n", s->state_dir);
        fprintf(f, "  http listen     %s\n",
                s->http_listen.host ? hostport_format(&s->http_listen, buf, sizeof(buf)) : "off");
        fprintf(f, "  peer secret     %s\n", secret_is_set(&s->peer_secret) ? s->peer_secret.path : "none");
        fprintf(f, "peers             %zu (%zu sentinels in all; a majority is %zu)\n", s->n_peers,
                config_n_sentinels(c), config_majority(c));
        for (size_t i = 0; i < s->n_peers; i++)
                fprintf(f, "  %-16s zone %-16s %s\n", s->peers[i].name, s->peers[i].zone,
                        hostport_format(&s->peers[i].address, buf, sizeof(buf)));
        for (size_t i = 0; i < c->n_clusters; i++)
                print_cluster(f, c, &c->clusters[i]);
}
