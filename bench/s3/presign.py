"""Helper of bench/s3.sh: with Debian's boto3, create the bucket, upload the objects the GETs read,
and write presigned URLs (SigV4 query auth, path-style, region jp-east) so wrk needs no signing.

  python3 presign.py ENDPOINT AKID SECRET BUCKET OUTDIR EXPIRES

Reads OUTDIR/body-{4k,1m,64m}.bin (the payloads; the script writes them) and writes, one URL path
(path and query, no scheme or host) per line:
  OUTDIR/get-4k.urls   GET of 256 objects of 4 KiB   (bench/4k/000 .. 255)
  OUTDIR/get-1m.urls   GET of 1 object of 1 MiB      (bench/1m/get)
  OUTDIR/get-64m.urls  GET of 1 object of 64 MiB     (bench/64m/get)
  OUTDIR/put-4k.urls   PUT of 256 keys, put-1m.urls 16 keys, put-64m.urls 4 keys (bench/put-*/NNN)
"""
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, akid, secret, bucket, out, expires = sys.argv[1:7]
expires = int(expires)
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=akid, aws_secret_access_key=secret,
                  region_name="jp-east",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                retries={"max_attempts": 1}))
s3.create_bucket(Bucket=bucket)
single = TransferConfig(multipart_threshold=1 << 40)   # one PutObject, as the benchmark's PUTs
prefix = endpoint.rstrip("/")


def path(url):
    assert url.startswith(prefix), url
    return url[len(prefix):]


def urls(name, method, keys):
    with open("%s/%s.urls" % (out, name), "w") as f:
        for k in keys:
            f.write(path(s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": k},
                                                   ExpiresIn=expires)) + "\n")


body4k = open(out + "/body-4k.bin", "rb").read()
for i in range(256):
    s3.put_object(Bucket=bucket, Key="bench/4k/%03d" % i, Body=body4k)
s3.upload_file(out + "/body-1m.bin", bucket, "bench/1m/get", Config=single)
s3.upload_file(out + "/body-64m.bin", bucket, "bench/64m/get", Config=single)
for size, n in (("4k", 256), ("1m", 16), ("64m", 4)):
    urls("put-" + size, "put_object", ["bench/put-%s/%03d" % (size, i) for i in range(n)])
urls("get-4k", "get_object", ["bench/4k/%03d" % i for i in range(256)])
urls("get-1m", "get_object", ["bench/1m/get"])
urls("get-64m", "get_object", ["bench/64m/get"])
