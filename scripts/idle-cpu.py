#!/usr/bin/env python3
# Idle CPU of a ThreadPairProxy holding N spliced, idle connections (docs/RELIABILITY.md):
#   python3 scripts/idle-cpu.py N agent|none SECONDS   (root; run from anywhere; ulimit -n >= 2N + 100)
# Builds nothing: needs agent/target/sockmap-agent.jar and examples/target/sockmap-examples.jar.
# Holds N spliced, idle connections through a proxy and measures the proxy's CPU while idle.
import socket, subprocess, sys, time, os, re, threading, select
N = int(sys.argv[1]); agent = sys.argv[2] == "agent"; idle = float(sys.argv[3])
wt = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(4096); bport = srv.getsockname()[1]
cmd = ["java", "-Xss256k", "-Xmx1g"] + ([f"-javaagent:{wt}/agent/target/sockmap-agent.jar=minBytes=16k"] if agent else []) + \
      ["-cp", f"{wt}/examples/target/sockmap-examples.jar", "io.sockmap.examples.ThreadPairProxy", "--listen", "0", "--target", f"127.0.0.1:{bport}"]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
port = None
for line in p.stdout:
    m = re.search(r"listening on (\d+)", line)
    if m: port = int(m.group(1)); break
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
payload = os.urandom(32 * 1024)
pairs = []
for i in range(N):
    c = socket.create_connection(("127.0.0.1", port)); b, _ = srv.accept()
    pairs.append((c, b))
def xfer(a, z):
    a.sendall(payload); got = 0
    while got < len(payload): got += len(z.recv(65536))
for c, b in pairs:
    xfer(c, b); xfer(b, c)
time.sleep(5)
for c, b in pairs:  # a second round so every direction is past its handover
    xfer(c, b); xfer(b, c)
time.sleep(5)
def cpu():
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
threads = len(os.listdir(f"/proc/{p.pid}/task"))
t0, c0 = time.time(), cpu()
time.sleep(idle)
t1, c1 = time.time(), cpu()
hz = os.sysconf("SC_CLK_TCK")
print(f"N={N} agent={agent} threads={threads} idle {t1-t0:.1f}s proxy CPU {(c1-c0)/hz:.2f}s = {100*(c1-c0)/hz/(t1-t0):.1f}% of one core; load {open('/proc/loadavg').read().split()[0]}")
p.terminate(); p.wait(20)
