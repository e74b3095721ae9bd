#!/usr/bin/env python3
"""An HTTP proxy in front of moto that answers chosen calls the way AWS answers a throttled one.

scripts/moto.sh points moto's Step Functions interpreter (MOTO_PORT) at this proxy, so the
aws-sdk tasks of an execution (Lambda, CloudWatch, SSM) pass through it while the tests' own SDK
calls go to moto directly. Everything is forwarded unchanged except calls a rule matches, which
get AWS's throttling error for their service instead, never reaching moto:

  Lambda (rest-json)       429, x-amzn-ErrorType: TooManyRequestsException,
                           {"Type":"User","message":"Rate exceeded"}
  CloudWatch (json 1.0)    400, {"__type":"Throttling",...} and x-amzn-query-error: Throttling;Sender
  CloudWatch (rpc-v2-cbor) the same as a CBOR map
  CloudWatch (query)       400, <ErrorResponse><Error><Code>Throttling</Code>...
  SSM (json 1.1)           400, {"__type":"ThrottlingException","message":"Rate exceeded"}

botocore parses each of these as a ClientError with that code, as it does AWS's own.

The rules are set on the proxy itself:

  POST   /__rules   {"rules":[{"match":"UpdateAlias","every":2,"contains":"/functions/f/",
                               "tag":"t"}]}
                    adds rules (it does not replace those there, so tests can share the proxy);
                    "match" is an operation name ("UpdateAlias", "DescribeAlarms", "PutParameter")
                    or "service.Operation" ("lambda.UpdateAlias"); "contains", if given, must
                    occur in the request's path or body; "every": N throttles the 1st, N+1st,
                    2N+1st ... matching call (2: every other one, the first included), "all": true
                    every one. A call takes the first rule it matches.
  GET    /__rules   {"rules":[...each with "seen" (matching calls) and "throttled"]}
  DELETE /__rules   removes every rule; DELETE /__rules?tag=t only those tagged t.

Usage: throttle_proxy.py LISTEN_PORT UPSTREAM_URL   (stdlib only)
"""

import http.client
import json
import re
import struct
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL = "/__rules"
MESSAGE = "Rate exceeded"

lock = threading.Lock()
rules = []

# Lambda's REST paths: (method, path pattern) -> operation.
LAMBDA = [
    ("PUT", r"/functions/[^/]+/aliases/[^/]+", "UpdateAlias"),
    ("GET", r"/functions/[^/]+/aliases/[^/]+", "GetAlias"),
    ("DELETE", r"/functions/[^/]+/aliases/[^/]+", "DeleteAlias"),
    ("POST", r"/functions/[^/]+/aliases", "CreateAlias"),
    ("GET", r"/functions/[^/]+/aliases", "ListAliases"),
    ("POST", r"/functions/[^/]+/versions", "PublishVersion"),
    ("GET", r"/functions/[^/]+/versions", "ListVersionsByFunction"),
    ("GET", r"/functions/[^/]+/configuration", "GetFunctionConfiguration"),
    ("PUT", r"/functions/[^/]+/configuration", "UpdateFunctionConfiguration"),
    ("PUT", r"/functions/[^/]+/code", "UpdateFunctionCode"),
    ("POST", r"/functions/[^/]+/invocations", "Invoke"),
    ("GET", r"/functions/[^/]+", "GetFunction"),
    ("DELETE", r"/functions/[^/]+", "DeleteFunction"),
    ("POST", r"/functions", "CreateFunction"),
    ("GET", r"/functions", "ListFunctions"),
]
TARGET_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch", "AmazonSSM": "ssm"}


def operation(method, path, headers, body):
    """(service, operation, protocol) of a request, as far as it can tell; else (None, None, None)."""
    target = headers.get("X-Amz-Target")
    if target and "." in target:
        prefix, op = target.split(".", 1)
        return TARGET_SERVICES.get(prefix, prefix), op, "json"
    match = re.match(r"^/service/([^/]+)/operation/([^/?]+)", path)
    if match:
        return TARGET_SERVICES.get(match.group(1), match.group(1)), match.group(2), "cbor"
    bare = path.split("?", 1)[0]
    match = re.match(r"^/20\d\d-\d\d-\d\d(/.*)$", bare)
    if match:
        for m, pattern, op in LAMBDA:
            if m == method and re.fullmatch(pattern, match.group(1)):
                return "lambda", op, "rest-json"
        return "lambda", None, "rest-json"
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
        service = scope.group(1) if scope else None
        service = {"monitoring": "cloudwatch"}.get(service, service)
        return service, form.get("Action", [None])[0], "query"
    return None, None, None


def cbor(value):
    """A map of text strings in CBOR (RFC 8949): all a throttling error needs."""

    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + struct.pack(">H", n)

    def text(s):
        data = s.encode()
        return head(3, len(data)) + data

    return head(5, len(value)) + b"".join(text(k) + text(v) for k, v in value.items())


def throttle_response(service, protocol):
    """(status, headers, body) of AWS's throttling error for `service` in `protocol`."""
    request_id = str(uuid.uuid4())
    if service == "lambda":
        return 429, {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "TooManyRequestsException",
            "x-amzn-RequestId": request_id,
        }, json.dumps({"Type": "User", "message": MESSAGE}).encode()
    if service == "ssm":
        return 400, {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-RequestId": request_id,
        }, json.dumps({"__type": "ThrottlingException", "message": MESSAGE}).encode()
    # CloudWatch and any other former query service: code `Throttling`, a client (Sender) fault.
    if protocol == "query":
        body = (
            "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
            f"<Error><Type>Sender</Type><Code>Throttling</Code><Message>{MESSAGE}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
    error = {"__type": "Throttling", "message": MESSAGE}
    headers = {"x-amzn-query-error": "Throttling;Sender", "x-amzn-RequestId": request_id}
    if protocol == "cbor":
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return 400, headers, cbor(error)
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return 400, headers, json.dumps(error).encode()


def throttles(service, op, path, body):
    """Whether a rule throttles this call, counting it."""
    if op is None:
        return False
    with lock:
        for rule in rules:
            wanted = rule.get("match", "")
            if wanted not in (op, f"{service}.{op}"):
                continue
            needle = rule.get("contains")
            if needle and needle not in path and needle.encode() not in body:
                continue
            n = rule["seen"]
            rule["seen"] += 1
            hit = rule.get("all") or n % max(int(rule.get("every", 1)), 1) == 0
            if hit:
                rule["throttled"] += 1
            return bool(hit)
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # (host, port)

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, body):
        global rules
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        with lock:
            if self.command == "POST":
                try:
                    added = json.loads(body or b"{}").get("rules", [])
                    assert isinstance(added, list) and all(
                        isinstance(r, dict) and r.get("match") for r in added
                    )
                except Exception:
                    return self.answer(400, {"Content-Type": "text/plain"}, b"bad rules\n")
                for rule in added:
                    rules.append({**rule, "seen": 0, "throttled": 0})
            elif self.command == "DELETE":
                tag = query.get("tag", [None])[0]
                rules = [r for r in rules if tag is not None and r.get("tag") != tag]
            elif self.command != "GET":
                return self.answer(405, {"Content-Type": "text/plain"}, b"GET, POST or DELETE\n")
            listed = json.dumps({"rules": rules}).encode()
        self.answer(200, {"Content-Type": "application/json"}, listed)

    def handle_any(self):
        body = self.body()
        if urllib.parse.urlsplit(self.path).path == CONTROL:
            return self.control(body)
        service, op, protocol = operation(self.command, self.path, self.headers, body)
        if throttles(service, op, self.path, body):
            return self.answer(*throttle_response(service, protocol))
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive")
        }
        connection = http.client.HTTPConnection(*self.upstream, timeout=300)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            passed = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive")
            }
            self.answer(response.status, passed, data)
        except OSError as error:
            self.answer(502, {"Content-Type": "text/plain"}, f"proxy: {error}\n".encode())
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: throttle_proxy.py LISTEN_PORT UPSTREAM_URL")
    upstream = urllib.parse.urlsplit(sys.argv[2])
    Handler.upstream = (upstream.hostname, upstream.port or 80)
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
