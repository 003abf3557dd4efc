#!/usr/bin/python3
"""Memory of `kasumi export` on the daemon's side: kasumid's RSS, sampled every 50 ms, while a tenant
is exported, for a small tenant and then for the same tenant after GBS of large objects and tens of
thousands of small ones were added. Flat memory means the two peaks are about the same.

usage: bench/export_rss.py [GiB of large objects] [number of small objects]   (defaults 3, 20000)
Uses bin/kasumid and bin/kasumi (`make`), boto3; the archive goes to a temporary directory."""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import boto3
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parent.parent
GIB = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SMALL = int(sys.argv[2]) if len(sys.argv) > 2 else 20000


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def api(url, token, method, path, body=None):
    import requests
    r = requests.request(method, url + path, json=body, headers={"Authorization": "Bearer " + token}, timeout=60)
    r.raise_for_status()
    return r.json()


def export(kasumi, url, token, tenant, out, pid):
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.05)
    before = rss_kib(pid)
    t = threading.Thread(target=sample)
    t.start()
    t0 = time.time()
    subprocess.run([str(kasumi), "export", "--tenant", tenant, "--out", str(out)], check=True,
                   env=dict(os.environ, KASUMI_ENDPOINT=url, KASUMI_TOKEN=token), capture_output=True)
    secs = time.time() - t0
    stop.set()
    t.join()
    return before, peak[0], secs, out.stat().st_size


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="export-rss-", dir="/var/tmp"))
    data = tmp / "data"
    tokf = tmp / "token"
    d = subprocess.Popen([str(ROOT / "bin/kasumid"), "--data-dir", str(data), "--admin-listen", "127.0.0.1:0",
                          "--s3-listen", "127.0.0.1:0", "--ai-listen", "127.0.0.1:0",
                          "--bootstrap-token-file", str(tokf)], stdout=subprocess.DEVNULL, stderr=open(tmp / "err", "w"))
    try:
        while not (data / "listen.json").exists():
            time.sleep(0.05)
        time.sleep(0.2)
        listen = json.loads((data / "listen.json").read_text())
        url, token = "http://" + listen["admin"], tokf.read_text().strip()
        t = api(url, token, "POST", "/admin/v1/tenants", {"kind": "ministry", "name": "計測庁",
                                                           "corporate_number": "9100000000007"})["id"]
        p = api(url, token, "POST", "/admin/v1/tenants/%s/projects" % t, {"name": "p", "environment": "prod"})["id"]
        u = api(url, token, "POST", "/admin/v1/tenants/%s/users" % t, {"name": "u", "email": "u@example.go.jp"})["id"]
        api(url, token, "POST", "/admin/v1/role-bindings", {"principal": u, "role": "project_admin", "scope": "project/" + p})
        k = api(url, token, "POST", "/admin/v1/keys", {"user": u, "kind": "s3", "project": p})
        s3 = boto3.client("s3", endpoint_url="http://" + listen["s3"], aws_access_key_id=k["access_key_id"],
                          aws_secret_access_key=k["secret_access_key"], region_name="jp-east",
                          config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
        s3.create_bucket(Bucket="rss")
        for i in range(10):
            s3.put_object(Bucket="rss", Key="seed/%d" % i, Body=os.urandom(1024))
        kasumi = ROOT / "bin/kasumi"
        pid = d.pid
        small = export(kasumi, url, token, t, tmp / "small.tar", pid)
        (tmp / "small.tar").unlink()
        chunk = os.urandom(64 << 20)
        for i in range(GIB * 4):   # 256 MiB objects, multipart through boto3's transfer manager
            src = tmp / "big.bin"
            with open(src, "wb") as f:
                for _ in range(4):
                    f.write(chunk)
            s3.upload_file(str(src), "rss", "big/%03d.bin" % i)
            src.unlink()
        body = os.urandom(2048)
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda n: s3.put_object(Bucket="rss", Key="small/%06d-%s" % (n, uuid.uuid4().hex[:6]), Body=body),
                        range(SMALL)))
        big = export(kasumi, url, token, t, tmp / "big.tar", pid)
        print("export RSS (KiB of kasumid): small tenant: before %d, peak %d (%.1f s, %d bytes)" % small)
        print("export RSS (KiB of kasumid): %d GiB + %d small objects: before %d, peak %d (%.1f s, %d bytes, %.0f MB/s)"
              % ((GIB, SMALL) + big + (big[3] / big[2] / 1e6,)))
    finally:
        d.terminate()
        d.wait()
        subprocess.run(["rm", "-rf", str(tmp)])


main()
