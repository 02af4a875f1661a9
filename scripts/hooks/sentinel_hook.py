"""What the hooks in this directory (pagerduty, webhook, email) share. Python 3 standard library only.

mariadb-sentinel runs a hook with no arguments, a clean environment (SENTINEL_* of SPEC 6, PATH,
LANG), the event's JSON on stdin, in its own process group, and kills it after its `timeout_ms`.
So a hook's own settings come from a file, SETTINGS_FILE, of KEY=VALUE lines (`#` comments, quotes
optional); a variable of the same name in the environment or a command-line option wins over it
(for wrapper scripts, tests and manual runs). The path of the file itself can be given with
$MARIADB_SENTINEL_HOOKS_ENV or --settings.

Secrets (routing key, bearer token, a URL that embeds a token) are only read from files named by a
*_FILE setting. A relative name is looked up like the sentinel's own secrets: in
$CREDENTIALS_DIRECTORY, or, since the sentinel does not pass that on, in the systemd credentials
directory of the unit the hook runs in (/run/credentials/UNIT, from /proc/self/cgroup), then beside
the settings file. A secret file must be a regular file no group or other may access (chmod 0600;
a systemd credential's ACL for the service's user is fine).
Secrets never appear in any output: every line printed is scrubbed of them.

Each hook has a hard timeout of its own (*_TIMEOUT_MS, default 5000), counted from its start (once
Python has started, some 50 ms) and kept even when a DNS lookup or a peer hangs: when it expires, the hook prints one line saying what
it was waiting for and exits 1. Keep it below the sentinel's `timeout_ms` for the hook (default
10000), so a slow receiver is reported by the hook itself, not as a timeout kill.

Exit status: 0 delivered (one line on stdout saying what was sent); 1 delivery failed (one line on
stderr: what failed); 2 usage or configuration error (one line on stderr).
"""

import argparse
import difflib
import http.client
import json
import os
import re
import socket
import ssl
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SETTINGS_FILE = "/etc/mariadb-sentinel/hooks.env"
SETTINGS_FILE_ENV = "MARIADB_SENTINEL_HOOKS_ENV"
DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 600000
SECRET_SIZE_MAX = 64 * 1024
STDIN_MAX = 1024 * 1024
USER_AGENT = "mariadb-sentinel-hook/1"

# Every key the settings file may hold, for all hooks (one file serves them all): anything else is a
# typo and an error.
SETTINGS_KEYS = (
    "PAGERDUTY_URL", "PAGERDUTY_ROUTING_KEY_FILE", "PAGERDUTY_TIMEOUT_MS",
    "WEBHOOK_URL", "WEBHOOK_URL_FILE", "WEBHOOK_TOKEN_FILE", "WEBHOOK_CA_FILE", "WEBHOOK_TIMEOUT_MS",
    "EMAIL_TO", "EMAIL_FROM", "SENDMAIL", "EMAIL_TIMEOUT_MS",
    # urllib's own proxy variables, for a site that reaches the internet through a proxy
    "https_proxy", "http_proxy", "no_proxy", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
)
PROXY_KEYS = SETTINGS_KEYS[-6:]


class Failure(Exception):
    """What failed, in one line. status 1: delivery failed; 2: usage or configuration."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


class Hook:
    """One run of a hook: its name for messages, its deadline, its secrets, its children."""

    def __init__(self, name):
        self.name = name
        self.started = time.monotonic()
        self.timeout_ms = DEFAULT_TIMEOUT_MS
        self.step = "starting"  # what the hook waits for, for the timeout's message
        self.secrets = []
        self.children = []
        self._lock = threading.Lock()
        self._timer = None

    def arm(self, timeout_ms):
        """(Re)sets the hard deadline: timeout_ms after the hook started."""
        if self._timer:
            self._timer.cancel()
        self.timeout_ms = timeout_ms
        self._timer = threading.Timer(self.remaining(), self._expired)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self):
        return max(0.0, self.started + self.timeout_ms / 1000.0 - time.monotonic())

    def timed_out(self):
        return Failure("timed out after %d ms: %s" % (self.timeout_ms, self.step))

    def secret(self, value):
        self.secrets.append(value)
        return value

    def _line(self, text):
        """One line, without secrets, prefixed with the hook's name."""
        text = " ".join(str(text).split())
        for s in sorted(self.secrets, key=len, reverse=True):
            if s:
                text = text.replace(s, "[secret]")
        return ("%s: %s\n" % (self.name, text)).encode("utf-8", "replace")

    def _expired(self):
        # From the timer's thread, whatever the main thread is blocked in (a DNS lookup too).
        with self._lock:
            for p in self.children:
                try:
                    p.kill()
                except OSError:
                    pass
            os.write(2, self._line(self.timed_out()))
            os._exit(1)

    def finish(self, status, text):
        with self._lock:
            if self._timer:
                self._timer.cancel()
            os.write(1 if status == 0 else 2, self._line(text))
            os._exit(status)


class Settings:
    """The settings file's values; get() gives an option's value, else the environment's, else the file's."""

    def __init__(self, path, values):
        self.path = path
        self.dir = os.path.dirname(os.path.abspath(path))
        self.values = values

    @classmethod
    def load(cls, path, explicit):
        values = {}
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            if explicit:
                raise Failure("settings file %s: not found" % path, 2)
            return cls(path, values)
        except (OSError, UnicodeDecodeError) as e:
            raise Failure("cannot read settings file %s: %s" % (path, getattr(e, "strerror", None) or e), 2)
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
            if not m:
                raise Failure("%s:%d: expected KEY=VALUE" % (path, n), 2)
            key, value = m.groups()
            if key not in SETTINGS_KEYS:
                close = difflib.get_close_matches(key, SETTINGS_KEYS, 1)
                raise Failure("%s:%d: unknown setting %s%s" % (
                    path, n, key, " (did you mean %s?)" % close[0] if close else ""), 2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
        return cls(path, values)

    def get(self, key, option=None, default=None):
        if option is not None and option != "":
            return option
        if os.environ.get(key):
            return os.environ[key]
        if self.values.get(key):
            return self.values[key]
        return default

    def timeout_ms(self, key, option):
        v = self.get(key, None if option is None else str(option), str(DEFAULT_TIMEOUT_MS))
        if not re.fullmatch(r"[0-9]+", v) or not 1 <= int(v) <= MAX_TIMEOUT_MS:
            raise Failure("%s must be a whole number of milliseconds, 1 .. %d, not %r" % (key, MAX_TIMEOUT_MS, v), 2)
        return int(v)

    def apply_proxies(self):
        """urllib reads its proxies from os.environ; the sentinel's clean environment has none."""
        for key in PROXY_KEYS:
            if self.values.get(key) and key not in os.environ:
                os.environ[key] = self.values[key]


def _systemd_unit():
    """The systemd service the hook runs in, from its cgroup, or None."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                units = [c for c in line.rstrip("\n").split(":", 2)[-1].split("/") if c.endswith(".service")]
                if units:
                    return units[-1]
    except OSError:
        pass
    return None


def secret_path(name, settings):
    """Where the secret file `name` is: as given when absolute, else in the credentials directory when
    it exists there (anything there wins, even a dangling link), else beside the settings file."""
    if os.path.isabs(name):
        return name
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if not creds:
        unit = _systemd_unit()
        creds = os.path.join("/run/credentials", unit) if unit else None
    if creds and os.path.lexists(os.path.join(creds, name)):
        return os.path.join(creds, name)
    return os.path.join(settings.dir, name)


def _acl_private(fd):
    """Whether the group bits of the file's mode (an ACL's mask, when it has one) hide an ACL that lets no
    one in but the owner and this process's user: how systemd writes a credential on a file system with
    ACLs (owner root, mode 0400, an entry for the service's user, which makes the mode 0440). As
    lib/core/secret.c decides it for the sentinel's own secrets."""
    try:
        raw = os.getxattr(fd, "system.posix_acl_access")
    except OSError:
        return False  # no ACL: the group bits are the group's
    if len(raw) < 4 or (len(raw) - 4) % 8 or int.from_bytes(raw[:4], "little") != 2:
        return False
    entries = [(int.from_bytes(raw[o:o + 2], "little"), int.from_bytes(raw[o + 2:o + 4], "little"),
                int.from_bytes(raw[o + 4:o + 8], "little")) for o in range(4, len(raw), 8)]
    mask = next((perm & 0o7 for tag, perm, _ in entries if tag == 0x10), 0o7)  # ACL_MASK
    for tag, perm, uid in entries:
        if not perm & mask:
            continue
        if tag in (0x04, 0x08):  # ACL_GROUP_OBJ, ACL_GROUP
            return False
        if tag == 0x02 and uid != os.geteuid():  # ACL_USER
            return False
    return True


def read_secret(hook, name, settings, what):
    """The one-line secret in the file `name` (see secret_path), registered to be scrubbed from output."""
    path = secret_path(name, settings)
    hook.step = "reading the %s file %s" % (what, path)
    try:
        # O_NONBLOCK: a FIFO does not hang open(); it is refused below anyway.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise Failure("cannot open the %s file %s: %s" % (what, path, e.strerror), 2)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Failure("the %s file %s is not a regular file" % (what, path), 2)
        if st.st_mode & 0o007 or (st.st_mode & 0o070 and not _acl_private(f.fileno())):
            raise Failure("the %s file %s is accessible by group or others (mode %04o); run chmod 0600 %s"
                          % (what, path, stat.S_IMODE(st.st_mode), path), 2)
        data = f.read(SECRET_SIZE_MAX + 1)
    if len(data) > SECRET_SIZE_MAX:
        raise Failure("the %s file %s is larger than %d KiB" % (what, path, SECRET_SIZE_MAX // 1024), 2)
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Failure("the %s file %s is not UTF-8 text" % (what, path), 2)
    if not value:
        raise Failure("the %s file %s is empty" % (what, path), 2)
    if "\n" in value or "\r" in value:
        raise Failure("the %s file %s has more than one line" % (what, path), 2)
    return hook.secret(value)


class Event:
    """The event: the SENTINEL_* environment (SPEC 6) first, the JSON document on stdin for the rest."""

    def __init__(self, doc, problem):
        env = os.environ.get
        sentinel = doc.get("sentinel") if isinstance(doc.get("sentinel"), dict) else {}
        self.name = env("SENTINEL_EVENT") or as_text(doc.get("event"))
        if not self.name:
            raise Failure("no event: SENTINEL_EVENT is not set and stdin holds no event JSON "
                          "(mariadb-sentinel runs hooks with both, SPEC 6)", 2)
        self.cluster = env("SENTINEL_CLUSTER") or as_text(doc.get("cluster")) or "-"
        self.epoch = env("SENTINEL_EPOCH") or as_text(doc.get("epoch")) or "0"
        self.severity = env("SENTINEL_SEVERITY") or as_text(doc.get("severity")) or "critical"
        self.sentinel_name = env("SENTINEL_NAME") or as_text(sentinel.get("name")) or socket.gethostname()
        self.sentinel_zone = env("SENTINEL_ZONE") or as_text(sentinel.get("zone"))
        self.old_primary = env("SENTINEL_OLD_PRIMARY") or _server_text(doc.get("old_primary"))
        self.new_primary = env("SENTINEL_NEW_PRIMARY") or _server_text(doc.get("new_primary"))
        self.message = env("SENTINEL_MESSAGE") or as_text(doc.get("message")) or self.name
        self.at = as_text(doc.get("at")) or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
        self._doc = doc
        self.problem = problem

    @property
    def document(self):
        """The event's JSON as the sentinel sent it, or as the environment gives it when stdin had none."""
        if self._doc:
            return self._doc
        doc = {
            "event": self.name, "cluster": self.cluster, "epoch": int(self.epoch) if self.epoch.isdigit() else self.epoch,
            "severity": self.severity, "sentinel": {"name": self.sentinel_name, "zone": self.sentinel_zone},
            "old_primary": self.old_primary or None, "new_primary": self.new_primary or None,
            "message": self.message, "at": self.at, "details": {},
        }
        if self.problem:
            doc["stdin_error"] = self.problem
        return doc

    def server(self, which):
        """The name of old_primary or new_primary."""
        s = self._doc.get(which)
        if isinstance(s, dict) and s.get("name"):
            return as_text(s["name"])
        text = self.old_primary if which == "old_primary" else self.new_primary
        return text.split(" ", 1)[0] if text else ""

    @property
    def where(self):
        """The sentinel that raised it: NAME (ZONE)."""
        return "%s (%s)" % (self.sentinel_name, self.sentinel_zone) if self.sentinel_zone else self.sentinel_name


def as_text(v):
    return "" if v is None else str(v)


def _server_text(s):
    if not isinstance(s, dict) or not (s.get("name") or s.get("host")):
        return ""
    host = as_text(s.get("host"))
    if ":" in host:
        host = "[%s]" % host
    addr = "%s:%s" % (host, s["port"]) if host and s.get("port") else host
    return " ".join(x for x in (as_text(s.get("name")), addr) if x)


def read_event(hook):
    hook.step = "reading the event on stdin"
    doc, problem = {}, None
    stdin = sys.stdin
    if stdin is not None and not stdin.isatty():
        raw = stdin.buffer.read(STDIN_MAX + 1)
        if len(raw) > STDIN_MAX:
            problem = "stdin larger than %d KiB" % (STDIN_MAX // 1024)
        elif raw.strip():
            try:
                doc = json.loads(raw)
            except ValueError as e:
                problem = "stdin is not JSON: %s" % e
            if not isinstance(doc, dict):
                doc, problem = {}, problem or "stdin is not a JSON object"
    # A malformed document does not stop the page: the environment says what happened.
    return Event(doc, problem)


def http_url(value, what):
    """value if it is an http(s) URL; never prints it (a webhook URL may embed a token)."""
    u = urllib.parse.urlsplit(value)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise Failure("%s must be an http:// or https:// URL" % what, 2)
    return value


def url_origin(url):
    """scheme://host[:port]: what messages show of a URL (its path or query may hold a token)."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or "?"
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (u.scheme, host, ":%d" % u.port if u.port else "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an error: following it would send the event (and the token) elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _why(e):
    if isinstance(e, (socket.timeout, TimeoutError)):
        return None
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, socket.gaierror):
        return "cannot resolve the host name: %s" % e.strerror
    if isinstance(e, ssl.SSLCertVerificationError):
        return "TLS certificate not accepted: %s" % e.verify_message
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[0].lower() + e.strerror[1:]
    return str(e) or type(e).__name__


def post_json(hook, url, doc, headers=None, cafile=None):
    """POSTs doc; returns (status, body) of a 2xx answer. 429 and 5xx answers are retried (at most
    twice, while the deadline allows); anything else fails at once with what went wrong."""
    origin = url_origin(url)
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as e:
        raise Failure("cannot load the CA file %s: %s" % (cafile, getattr(e, "strerror", None) or e), 2)
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    hdrs = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    hdrs.update(headers or {})
    for attempt in range(3):
        hook.step = "POST %s: no answer" % origin
        if hook.remaining() <= 0:
            raise hook.timed_out()
        req = urllib.request.Request(url, data=body, method="POST", headers=hdrs)
        try:
            with opener.open(req, timeout=hook.remaining()) as resp:
                return resp.status, resp.read(64 * 1024)
        except urllib.error.HTTPError as e:
            try:
                text = e.read(300).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                text = ""
            delay = 0.5 * (attempt + 1)
            if e.code in (429, 500, 502, 503, 504) and attempt < 2 and hook.remaining() > delay + 1.0:
                time.sleep(delay)
                continue
            if 300 <= e.code < 400:
                raise Failure("POST %s: HTTP %d %s: a redirect, not followed (use the final URL)" % (origin, e.code, e.reason))
            raise Failure("POST %s: HTTP %d %s%s" % (origin, e.code, e.reason, ": " + text if text.strip() else ""))
        except urllib.error.URLError as e:
            why = _why(e.reason)
            raise hook.timed_out() if why is None else Failure("POST %s: %s" % (origin, why))
        except (OSError, http.client.HTTPException) as e:
            why = _why(e)
            raise hook.timed_out() if why is None else Failure("POST %s: %s" % (origin, why))
    raise AssertionError("not reached")


def run(name, description, add_arguments, deliver):
    """The whole hook: options, settings, deadline, event, then deliver(hook, settings, args, event),
    which returns the line to print on success or raises Failure. Never returns."""
    hook = Hook(name)
    hook.arm(DEFAULT_TIMEOUT_MS)  # until the settings say otherwise
    try:
        parser = argparse.ArgumentParser(
            prog=name, description=description,
            epilog="Settings: %s (KEY=VALUE lines; $%s or --settings names another file); an option "
                   "or an environment variable of the same name wins over the file." % (SETTINGS_FILE, SETTINGS_FILE_ENV))
        parser.add_argument("--settings", metavar="FILE", help="the settings file (default %s)" % SETTINGS_FILE)
        parser.add_argument("--timeout-ms", type=int, metavar="MS", help="the hook's own deadline (default %d)" % DEFAULT_TIMEOUT_MS)
        add_arguments(parser)
        args = parser.parse_args()
        explicit = args.settings or os.environ.get(SETTINGS_FILE_ENV)
        settings = Settings.load(explicit or SETTINGS_FILE, bool(explicit))
        settings.apply_proxies()
        hook.arm(settings.timeout_ms(name.upper() + "_TIMEOUT_MS", args.timeout_ms))
        event = read_event(hook)
        line = deliver(hook, settings, args, event)
    except Failure as e:
        hook.finish(e.status, e)
    except Exception as e:  # a bug: still one line, still no secret
        hook.finish(1, "internal error: %s: %s" % (type(e).__name__, e))
    hook.finish(0, line)
