#!/usr/bin/env python3
"""The man pages (man/*.scd) against the code they document.

1. Every key the config parser accepts is documented in mariadb-sentinel.conf(5), in the section of
   its group, and every key documented there is accepted. The accepted keys are read from the
   parser's source (the NULL-terminated key tables that loader_check_keys() enforces in
   lib/core/config*.c), so a new key without documentation fails here. Each integer key's range
   (the min and max given to loader_get_int/u64) is stated in its entry, each numeric default of
   config.h appears as "Default: N", and every event of lib/core/event.c is in the hooks table.
2. Every option in each program's --help is in the OPTIONS section of its man page and the other
   way round; every getopt option and every sentinelctl verb flag is in --help; every verb is in
   sentinelctl(1) with its flags; every reason code is in sentinelctl(1); every event's MESSAGE_ID
   is in mariadb-sentinel(8).
3. scdoc renders every page without error (skipped, with a message, when scdoc is missing).

Needs SOURCE_ROOT and BUILD_ROOT (set by meson test). Exit 0 when all pass, 1 otherwise.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

SRC = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD_ROOT") or os.path.join(SRC, "build")
MAN = os.path.join(SRC, "man")
PROGRAMS = {
    "mariadb-sentinel": (os.path.join(BUILD, "sentinel", "mariadb-sentinel"), "mariadb-sentinel.8.scd",
                         os.path.join(SRC, "sentinel", "mariadb-sentinel.c")),
    "sentinelctl": (os.path.join(BUILD, "sentinel", "sentinelctl"), "sentinelctl.1.scd",
                    os.path.join(SRC, "sentinel", "sentinelctl.c")),
}
CONF_PAGE = "mariadb-sentinel.conf.5.scd"

# Where each key table of the parser is documented: (function, table[, row]) -> the "## " headings of
# the KEYS section of mariadb-sentinel.conf(5) that may document its keys (the first is the key's own
# section). A new table fails the test until it is added here and its keys are documented.
SECTIONS = {
    ("read_config", "keys"): ["Top level"],
    ("read_sentinel", "keys"): ["sentinel"],
    ("read_peer", "keys"): ["sentinel.peers"],
    ("loader_read_cluster", "keys"): ["clusters"],
    ("read_tls", "keys"): ["clusters.tls"],
    ("read_server", "keys"): ["clusters.servers"],
    ("read_timings", "probe_keys"): ["clusters.probe"],
    ("read_timings", "failover_keys"): ["clusters.failover"],
    ("read_timings", "fencing_keys"): ["clusters.fencing"],
    (None, "endpoint_keys", "ENDPOINT_DNS"): ["clusters.endpoints, type dns", "clusters.endpoints"],
    (None, "endpoint_keys", "ENDPOINT_VIP"): ["clusters.endpoints, type vip", "clusters.endpoints"],
    (None, "endpoint_keys", "ENDPOINT_EXEC"): ["clusters.endpoints, type exec", "clusters.endpoints"],
    ("read_hook", "keys"): ["clusters.hooks"],
}

failures = 0
n = 0


def check(ok, what, detail=""):
    global failures, n
    n += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))
    if not ok:
        failures += 1
        for line in detail.splitlines():
            print("#   " + line)
    return ok


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- C source ----

def strip_comments(text):
    """Removes /* */ and // comments, keeping string and character literals (and line numbers)."""
    def repl(m):
        s = m.group(0)
        if s.startswith("/"):
            return re.sub(r"[^\n]", " ", s)
        return s
    return re.sub(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', repl, text, flags=re.S)


def functions(text):
    """(name, body) of every function defined at the top level (K&R-free C: '{' ends the head line,
    '}' in column 0 ends the body); and the text outside them."""
    out, outside, pos = [], [], 0
    for m in re.finditer(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;{}]*\)\s*\{", text, flags=re.M):
        if m.start() < pos:
            continue
        end = re.compile(r"^\}", re.M).search(text, m.end())
        if not end:
            break
        outside.append(text[pos:m.start()])
        out.append((m.group(1), text[m.start():end.end()]))
        pos = end.end()
    outside.append(text[pos:])
    return out, "".join(outside)


def braced(text, start):
    """The text between the '{' at start and its matching '}'."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise ValueError("unbalanced braces")


TABLE_RE = re.compile(r"static\s+const\s+char\s*\*\s*const\s+(\w*keys)\s*((?:\[[^\]]*\])+)\s*=\s*(?=\{)")


def key_tables(scope, text):
    """{(scope, name[, row]): [keys]} for the key tables defined in text."""
    tables = {}
    for m in TABLE_RE.finditer(text):
        body = braced(text, m.end())
        if m.group(2).count("[") == 1:
            tables[(scope, m.group(1))] = re.findall(r'"([^"]*)"', body)
        else:
            for row in re.finditer(r"\[(\w+)\]\s*=\s*\{([^}]*)\}", body):
                tables[(scope, m.group(1), row.group(1))] = re.findall(r'"([^"]*)"', row.group(2))
    return tables


def parse_config_source():
    tables, uses, ranges = {}, [], []
    for path in sorted(glob.glob(os.path.join(SRC, "lib", "core", "config*.c"))):
        text = strip_comments(read(path))
        funcs, outside = functions(text)
        tables.update(key_tables(None, outside))
        for name, body in funcs:
            tables.update(key_tables(name, body))
            var_table = {}
            for m in re.finditer(r"loader_check_keys\(\s*l\s*,\s*(\w+)\s*,\s*(\w+)\s*(\[[^\]]*\])?\s*\)", body):
                var_table[m.group(1)] = m.group(2)
                uses.append((os.path.basename(path), name, m.group(2)))
            for m in re.finditer(r"loader_get_(int|u64)\(\s*l\s*,\s*(\w+)\s*,\s*\"(\w+)\"\s*,"
                                 r"\s*(?:(?:true|false)\s*,\s*)?([^,]+?)\s*,\s*([^,]+?)\s*,", body):
                ranges.append((name, m.group(2), m.group(3), m.group(4), m.group(5), var_table.get(m.group(2))))
    return tables, uses, ranges


# ---- scdoc source ----

def scd_lines(text):
    """The lines outside literal blocks (``` ... ```)."""
    out, block = [], False
    for line in text.split("\n"):
        if line.strip() == "```":
            block = not block
            continue
        if not block:
            out.append(line)
    return out


def unescape(s):
    return s.replace("\\", "")


def scd_sections(text):
    """{"SECTION": [lines]} and {("SECTION", "Subsection"): [lines]}, literal blocks left out."""
    sections, subsections, cur, sub = {}, {}, None, None
    for line in scd_lines(text):
        m = re.match(r"^(#{1,2}) (.+)$", line)
        if m and len(m.group(1)) == 1:
            cur, sub = unescape(m.group(2)).strip(), None
            sections.setdefault(cur, [])
            continue
        if m:
            sub = unescape(m.group(2)).strip()
            subsections.setdefault((cur, sub), [])
            if cur is not None:
                sections[cur].append(line)
            continue
        if cur is not None:
            sections[cur].append(line)
            if sub is not None:
                subsections[(cur, sub)].append(line)
    return sections, subsections


def terms(lines):
    """{term: entry text} of the definition lines: "*term* ..." followed by tab-indented text."""
    out, cur = {}, None
    for i, line in enumerate(lines):
        m = re.match(r"^\*([^*\s]+)\*", line)
        if m and i + 1 < len(lines) and lines[i + 1].startswith("\t"):
            cur = unescape(m.group(1))
            out.setdefault(cur, "")
            out[cur] += unescape(line) + "\n"
        elif cur is not None and (line.startswith("\t") or line == ""):
            out[cur] += unescape(line) + "\n"
        else:
            cur = None
    return out


OPTION_RE = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def options_in(text):
    return set(OPTION_RE.findall(unescape(text)))


# ---- 1. config keys ----

def test_config_keys():
    tables, uses, ranges = parse_config_source()
    page = read(os.path.join(MAN, CONF_PAGE))
    _, subsections = scd_sections(page)
    keys_subs = {sub: lines for (sec, sub), lines in subsections.items() if sec == "KEYS"}

    check(len(tables) > 0, "the parser's key tables were found (%d)" % len(tables),
          "found: %s" % sorted(tables, key=str))
    table_names = {(k[0], k[1]) for k in tables} | {(None, k[1]) for k in tables}
    for f, name, table in uses:
        check((name, table) in table_names or (None, table) in table_names,
              "%s: %s() checks keys against a table this test reads (%s)" % (f, name, table))
    used = {t for _, _, t in uses}
    for k in tables:
        check(k[1] in used, "key table %s is enforced by loader_check_keys()" % (k,))

    documented = {}
    for k, keys in sorted(tables.items(), key=str):
        where = SECTIONS.get(k)
        if not check(where is not None, "key table %s is mapped to its man page section" % (k,),
                     "add it to SECTIONS in %s and document its keys" % os.path.basename(__file__)):
            continue
        if not check(where[0] in keys_subs, "%s has a '## %s' section under KEYS" % (CONF_PAGE, where[0])):
            continue
        for key in keys:
            found = [s for s in where if s in keys_subs and key in terms(keys_subs[s])]
            check(bool(found), "config key '%s' (%s) is documented in %s, '## %s'" % (key, k[1], CONF_PAGE, where[0]),
                  "add an entry '*%s* = ...' (with its default, unit and constraint) there" % key.replace("_", "\\_"))
            for s in where:
                documented.setdefault(s, set()).add(key)
    for k in SECTIONS:
        check(k in tables, "mapped key table %s still exists in the parser" % (k,))

    for sub, lines in sorted(keys_subs.items()):
        extra = set(terms(lines)) - documented.get(sub, set())
        check(not extra, "every key documented in '## %s' is accepted by the parser" % sub,
              "not accepted: %s" % ", ".join(sorted(extra)))

    # Ranges: the min and max of every integer key are stated in its entry.
    for func, var, key, lo, hi, table in ranges:
        try:
            bounds = [int(eval(x, {"__builtins__": {}})) for x in (lo, hi)
                      if re.fullmatch(r"[-+*/() \d]+", x)]
        except Exception:
            bounds = []
        if not check(len(bounds) == 2, "range of '%s' in %s() is a constant expression (%s, %s)" % (key, func, lo, hi)):
            continue
        rows = [k for k in tables if k[1] == table and (k[0] in (None, func)) and key in tables[k]]
        if not check(bool(rows), "range of '%s' in %s() belongs to a key table" % (key, func)):
            continue
        for row in rows:
            sub = SECTIONS.get(row, [None])[0]
            entry = terms(keys_subs.get(sub, [])).get(key, "")
            missing = [b for b in bounds if not re.search(r"(?<![\w.])%s(?!\w)" % re.escape(str(b)), entry)]
            check(not missing, "'## %s' %s states its range %d to %d" % (sub, key, bounds[0], bounds[1]),
                  "not in the entry: %s" % ", ".join(map(str, missing)))

    # Defaults of config.h.
    header = strip_comments(read(os.path.join(SRC, "lib", "core", "config.h")))
    flat = unescape(page).replace("*", "")
    for name, value in re.findall(r"#define\s+(CONFIG_DEFAULT_\w+)\s+(\S+)", header):
        if re.fullmatch(r"\d+", value):
            ok = re.search(r"[Dd]efault(?::|s to)\s+%s(?!\d)" % value, flat)
        else:
            ok = value.strip('"') in flat
        check(bool(ok), "default %s (%s) appears in %s" % (name, value, CONF_PAGE))

    # Events, with their severity, in the hooks table; endpoint types and hook classes.
    events = parse_events()
    check(len(events) >= 10, "the events of lib/core/event.c were found (%d)" % len(events))
    for ev, severity, _ in events:
        check(re.search(r"^\|\s+%s\s*\n:\s+%s\s*$" % (re.escape(ev), severity), page, re.M) is not None,
              "event %s (%s) is in the hooks table of %s" % (ev, severity, CONF_PAGE))
    check_src = read(os.path.join(SRC, "lib", "core", "config-check.c"))
    for table in ("endpoint_type_table", "hook_class_table"):
        m = re.search(table + r"\[[^\]]*\]\s*=\s*\{(.*?)\};", check_src, re.S)
        values = re.findall(r'\]\s*=\s*"([^"]+)"', m.group(1)) if m else []
        check(bool(values), "%s found" % table)
        for v in values:
            check('"%s"' % v in unescape(page), '%s value "%s" is in %s' % (table, v, CONF_PAGE))


def parse_events():
    text = read(os.path.join(SRC, "lib", "core", "event.c"))
    return [(name, sev.lower(), mid) for name, sev, mid in
            re.findall(r'\{\s*"([a-z-]+)"\s*,\s*SEVERITY_(\w+)\s*,\s*"([0-9a-f]{32})"\s*\}', text)]


# ---- 2. --help against the man pages ----

def help_text(binary):
    p = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0 and p.stdout, "%s --help exits 0 with the usage on stdout" % os.path.basename(binary),
          p.stderr)
    return p.stdout


def test_help():
    for prog, (binary, page_name, source) in PROGRAMS.items():
        if not check(os.access(binary, os.X_OK), "%s is built (%s)" % (prog, binary)):
            continue
        helptext = help_text(binary)
        page = read(os.path.join(MAN, page_name))
        sections, _ = scd_sections(page)
        if not check("OPTIONS" in sections, "%s has an OPTIONS section" % page_name):
            continue
        in_help = options_in(helptext)
        in_man = options_in("\n".join(sections["OPTIONS"]))
        check(in_help <= in_man, "every option of '%s --help' is in %s OPTIONS" % (prog, page_name),
              "missing from the man page: %s" % " ".join(sorted(in_help - in_man)))
        check(in_man <= in_help, "every option of %s OPTIONS is in '%s --help'" % (page_name, prog),
              "missing from --help: %s" % " ".join(sorted(in_man - in_help)))

        code = strip_comments(read(source))
        longopts = set("--" + o for o in re.findall(r'\{\s*"([\w-]+)"\s*,\s*(?:required|no|optional)_argument', code))
        shortopts = set()
        m = re.search(r'getopt_long\([^"]*"\+?([^"]*)"', code)
        if m:
            shortopts = set("-" + c for c in m.group(1) if c.isalnum())
        check(bool(longopts), "%s: the getopt options were found" % prog)
        check((longopts | shortopts) <= in_help, "every getopt option of %s is in its --help" % prog,
              "missing: %s" % " ".join(sorted((longopts | shortopts) - in_help)))

        if prog == "sentinelctl":
            test_verbs(code, helptext, page, sections)
        else:
            events = parse_events()
            for ev, severity, mid in events:
                check(re.search(r"^\|\s+%s\s*\n:\s+%s\s*\n:\s+%s\s*$" % (re.escape(ev), severity, mid), page, re.M)
                      is not None, "event %s (%s) with MESSAGE_ID %s is in %s" % (ev, severity, mid, page_name))


def test_verbs(code, helptext, page, sections):
    flags = {name: re.findall(r'"([\w-]+)=?"', body)
             for name, body in re.findall(r"static const char \*const (flags_\w+)\[\]\s*=\s*\{([^}]*)\}", code)}
    verbs = re.findall(r'\{\s*"([\w-]+)"\s*,\s*\d+\s*,\s*\d+\s*,\s*(flags_\w+)\s*\}', code)
    check(len(verbs) >= 5, "sentinelctl: the verbs table was found (%d verbs)" % len(verbs))
    verb_terms = terms(sections.get("VERBS", []))
    check(set(verb_terms) == {v for v, _ in verbs}, "sentinelctl(1) VERBS documents exactly the verbs",
          "code: %s\nman: %s" % (sorted(v for v, _ in verbs), sorted(verb_terms)))
    help_lines = helptext.split("\n")
    for verb, fl in verbs:
        usage = ""
        for i, line in enumerate(help_lines):
            if re.match(r"^  %s(\s|$)" % re.escape(verb), line):
                usage = line
                for nxt in help_lines[i + 1:]:
                    if re.match(r"^\s{6,}\S", nxt):
                        usage += " " + nxt
                    else:
                        break
        check(bool(usage), "sentinelctl --help lists the verb %s" % verb)
        head = verb_terms.get(verb, "").split("\n")[0]
        for f in flags.get(fl, []):
            check("--" + f in options_in(usage), "sentinelctl --help shows --%s with %s" % (f, verb))
            check("--" + f in options_in(head), "sentinelctl(1) shows --%s with %s" % (f, verb))
            check("--" + f in options_in("\n".join(sections["OPTIONS"])), "sentinelctl(1) OPTIONS has --%s" % f)

    reasons = set()
    plan = read(os.path.join(SRC, "lib", "core", "failover-plan.c"))
    m = re.search(r"failover_reason_table\[[^\]]*\]\s*=\s*\{(.*?)\};", plan, re.S)
    reasons |= set(re.findall(r"R\((\w+)\)", m.group(1))) if m else set()
    sw = read(os.path.join(SRC, "lib", "core", "switchover-check.c"))
    m = re.search(r"switchover_reason_table\[[^\]]*\]\s*=\s*\{(.*?)\};", sw, re.S)
    reasons |= set(re.findall(r'"([A-Z_]+)"', m.group(1))) if m else set()
    reasons.discard("OK")
    check(len(reasons) > 20, "the reason codes were found (%d)" % len(reasons))
    text = unescape("\n".join(sections.get("REASON CODES", [])))
    missing = sorted(r for r in reasons if not re.search(r"(?<![A-Z_])%s(?![A-Z_])" % r, text))
    check(not missing, "every reason code is in sentinelctl(1) REASON CODES", "missing: %s" % " ".join(missing))


# ---- 3. scdoc ----

def test_scdoc():
    pages = sorted(glob.glob(os.path.join(MAN, "*.scd")))
    check(len(pages) == 3, "three man pages in man/ (%s)" % ", ".join(os.path.basename(p) for p in pages))
    for p in pages:
        base = os.path.basename(p)[:-len(".scd")]
        name, section = base.rsplit(".", 1)
        first = read(p).split("\n", 1)[0]
        check(first.startswith("%s(%s)" % (name, section)), "%s: the preamble names %s(%s)" % (base, name, section))
    scdoc = shutil.which("scdoc")
    if not scdoc:
        print("# SKIP scdoc is not installed: the pages were not rendered (scripts/bootstrap installs it)")
        return
    for p in pages:
        with open(p, "rb") as f:
            r = subprocess.run([scdoc], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode == 0 and r.stdout.startswith(b".") and not r.stderr,
              "scdoc renders %s" % os.path.basename(p), r.stderr.decode(errors="replace"))


def main():
    test_config_keys()
    test_help()
    test_scdoc()
    print("1..%d" % n)
    if failures:
        print("# %d of %d checks failed" % (failures, n))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
