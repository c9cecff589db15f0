#!/usr/bin/python3
"""Defines each domain XML file of a folder through libvirt's mock (virsh -c
test:///default) and through Domus's test driver, dumps both, and reports how many come
back byte-identical (issue 13's measure).

    /usr/bin/python3 tests/xml_corpus/compare.py CORPUS_DIR [--domsh BIN] [--domusd BIN]
        [--out DIR] [--only SUBSTRING]

The root element's type is rewritten to 'test' (libvirt's mock accepts only that); the
<uuid> line is left out of the comparison when the file has none (both sides generate
one). A domusd is started on a fresh root and stopped by its pid at the end. For each file
that differs, OUT/NAME.diff holds a unified diff (virsh first). Exit status: 0 always
but on a setup error; the figures go to stdout.
"""
import argparse
import difflib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "build", "bin")


def as_test_domain(text):
    """The document with the root's type='...' set to test, or None when no root."""
    m = re.search(r"<domain\b[^>]*>", text)
    if not m:
        return None
    root = m.group(0)
    if re.search(r"\stype=(['\"])[^'\"]*\1", root):
        root2 = re.sub(r"(\stype=)(['\"])[^'\"]*\2", r"\1'test'", root, count=1)
    else:
        root2 = root.replace("<domain", "<domain type='test'", 1)
    return text[: m.start()] + root2 + text[m.end():]


def name_of(text):
    m = re.search(r"<name>([^<]*)</name>", text)
    return m.group(1) if m else None


def run(argv, timeout=30):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def virsh_round(path, name):
    rc, out = run(["virsh", "-q", "-c", "test:///default",
                   "define %s; dumpxml %s" % (path, name)])
    if "error:" in out or rc != 0:
        return None, out.strip()
    start = out.find("<domain")
    return out[start:], None


def domus_round(domsh, path, name):
    rc, out = run(domsh + ["define", path])
    if rc != 0:
        return None, out.strip()
    rc, xml = run(domsh + ["dumpxml", name])
    run(domsh + ["undefine", name])
    if rc != 0:
        return None, xml.strip()
    return xml, None


def without_uuid(text):
    return "\n".join(l for l in text.splitlines() if not l.strip().startswith("<uuid>"))


GENERATED = [r"<mac address='([0-9a-f:]{17})'", r"instanceid='([0-9a-f-]{36})'"]


def without_generated(text, source):
    """Values both sides make up at random when the input has none (MAC addresses,
    802.1Qbg instance ids) replaced by a placeholder; those the input gives are kept."""
    for pattern in GENERATED:
        def mask(m):
            return m.group(0) if m.group(1) in source else m.group(0).replace(
                m.group(1), "GENERATED")
        text = re.sub(pattern, mask, text)
    return text


def canonical(text):
    """Attribute-order-free form, to tell 'equal apart from attribute order'."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None

    def walk(e):
        return (e.tag, tuple(sorted(e.attrib.items())), (e.text or "").strip(),
                tuple(walk(c) for c in e))
    return walk(root)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--domusd", default=os.path.join(BUILD, "domusd"))
    ap.add_argument("--domsh", default=os.path.join(BUILD, "domsh"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None)
    a = ap.parse_args()

    files = sorted(f for f in os.listdir(a.corpus) if f.endswith(".xml"))
    if a.only:
        files = [f for f in files if a.only in f]
    out_dir = a.out or tempfile.mkdtemp(prefix="domus-corpus-")
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="domus-corpus-work-")
    root = tempfile.mkdtemp(prefix="domus-corpus-root-")
    daemon = subprocess.Popen([a.domusd, "--root", root], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(out_dir, "domusd.log"), "w"))
    sock = os.path.join(root, "run", "domus", "domus-sock")
    domsh = [a.domsh, "-c", "test:///default?socket=" + sock]
    try:
        for _ in range(200):  # bounded wait for the socket
            if os.path.exists(sock) and run(domsh + ["list", "--all"])[0] == 0:
                break
            time.sleep(0.05)
        else:
            print("domusd did not come up; see", out_dir, file=sys.stderr)
            return 2

        counts = {}
        rows = []
        for f in files:
            text = open(os.path.join(a.corpus, f), encoding="utf-8").read()
            doc = as_test_domain(text)
            name = name_of(text) if doc else None
            if not doc or not name:
                verdict = "skipped (no domain or name)"
            else:
                path = os.path.join(work, f)
                open(path, "w", encoding="utf-8").write(doc)
                vx, verr = virsh_round(path, name)
                dx, derr = domus_round(domsh, path, name)
                if vx is None and dx is None:
                    verdict = "both refuse"
                elif vx is None:
                    verdict = "libvirt refuses, Domus accepts"
                    open(os.path.join(out_dir, f + ".refusal"), "w").write(verr + "\n")
                elif dx is None:
                    verdict = "Domus refuses, libvirt accepts"
                    open(os.path.join(out_dir, f + ".refusal"), "w").write(derr + "\n")
                else:
                    keep_uuid = "<uuid>" in text
                    v = without_generated(vx if keep_uuid else without_uuid(vx), text)
                    d = without_generated(dx if keep_uuid else without_uuid(dx), text)
                    if v.strip() == d.strip():
                        verdict = "equal"
                    else:
                        cv, cd = canonical(v), canonical(d)
                        verdict = ("equal but attribute order" if cv is not None and cv == cd
                                   else "differ")
                        diff = difflib.unified_diff(v.strip().splitlines(),
                                                    d.strip().splitlines(),
                                                    "virsh/" + f, "domus/" + f, lineterm="")
                        open(os.path.join(out_dir, f + ".diff"), "w").write(
                            "\n".join(diff) + "\n")
            counts[verdict] = counts.get(verdict, 0) + 1
            rows.append((f, verdict))
        with open(os.path.join(out_dir, "verdicts.txt"), "w") as v:
            for f, verdict in rows:
                v.write("%s\t%s\n" % (verdict, f))
        both = counts.get("equal", 0) + counts.get("equal but attribute order", 0) + \
            counts.get("differ", 0)
        print("files: %d   (details in %s)" % (len(files), out_dir))
        for k in sorted(counts):
            print("  %-34s %d" % (k, counts[k]))
        if both:
            print("equal among the %d both accept: %.1f%%" %
                  (both, 100.0 * counts.get("equal", 0) / both))
        return 0
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


if __name__ == "__main__":
    sys.exit(main())
