#!/usr/bin/python3
"""An EZSCALE provisioner plugin written in Python from proto/ alone.

It provisions "servers" in a JSON file that stands in for a panel without
idempotency keys (config: backend_file), and keeps what the Go SDK keeps for
a Go plugin:

  * the go-plugin handshake: check the magic cookie, serve gRPC on
    127.0.0.1 with the core's AutoMTLS (the client certificate is in
    PLUGIN_CLIENT_CERT; our certificate goes back in the handshake line),
    print "1|1|tcp|127.0.0.1:PORT|grpc|CERT" on stdout, log only to stderr;
  * grpc.health.v1.Health answering SERVING for "plugin", and go-plugin's
    GRPCController (Shutdown), GRPCStdio and GRPCBroker services;
  * the protocol of proto/ezscale/plugin/v1: Describe, ValidateConfig,
    Configure, Health, and the Provisioner service; optional calls are not
    registered, so they answer UNIMPLEMENTED, which the core reads as
    NotSupported;
  * errors as a gRPC status carrying an ezscale.plugin.v1.ErrorDetail;
  * idempotency per key recorded in the plugin's data directory
    (EZSCALE_PLUGIN_DATA_DIR, an SQLite file), and reconciliation by the
    service id when no record exists;
  * exit when the core (the parent process) dies.

The message classes come from plugin_v1.binpb, the descriptor set of proto/
(`make proto` writes it with buf): no generated code.
"""

import base64
import datetime
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from concurrent import futures

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC_COOKIE_KEY = "EZSCALE_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "5d1c6b0e7f0b4a8c9e2f3a1b6c7d8e9f-ezscale-plugin"
APP_PROTOCOL_VERSION = 1  # sdk.ProtocolVersion: the v1 of ezscale.plugin.v1
RETENTION_SECONDS = 30 * 24 * 3600  # outcomes kept 30 days, as the Go SDK does


def log(level, msg, **fields):
    """One JSON line on stderr: the core shows it under the plugin's name."""
    fields.update({"@level": level, "@message": msg, "@timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat()})
    print(json.dumps(fields), file=sys.stderr, flush=True)


# --- the protocol's messages, from the descriptor set of proto/ -------------

def load_messages():
    fds = descriptor_pb2.FileDescriptorSet()
    with open(os.path.join(HERE, "plugin_v1.binpb"), "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)

    class Messages:
        def __getattr__(self, name):
            return factory.GetPrototype(pool.FindMessageTypeByName("ezscale.plugin.v1." + name))

    return Messages(), pool


pb, POOL = load_messages()


def enum(name, value):
    return POOL.FindEnumTypeByName("ezscale.plugin.v1." + name).values_by_name[value].number


PENDING, ACTIVE = enum("ServiceState", "SERVICE_STATE_PENDING"), enum("ServiceState", "SERVICE_STATE_ACTIVE")
SUSPENDED, TERMINATED = enum("ServiceState", "SERVICE_STATE_SUSPENDED"), enum("ServiceState", "SERVICE_STATE_TERMINATED")


# --- errors: a gRPC status carrying an ErrorDetail -------------------------

KINDS = {  # ErrorKind wire value, and the gRPC code the Go SDK uses for it
    "internal": (enum("ErrorKind", "ERROR_KIND_INTERNAL"), grpc.StatusCode.INTERNAL),
    "invalid_input": (enum("ErrorKind", "ERROR_KIND_INVALID_INPUT"), grpc.StatusCode.INVALID_ARGUMENT),
    "not_found": (enum("ErrorKind", "ERROR_KIND_NOT_FOUND"), grpc.StatusCode.NOT_FOUND),
    "unavailable": (enum("ErrorKind", "ERROR_KIND_UNAVAILABLE"), grpc.StatusCode.UNAVAILABLE),
}


class PluginError(Exception):
    def __init__(self, kind, message, field=""):
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field


def rpc_status(code, message, detail):
    """google.rpc.Status{code, message, details: [Any(detail)]}, encoded by
    hand: three fields, so no generated code is needed for it."""
    def field(num, wire, payload):
        key = varint(num << 3 | wire)
        return key + (varint(len(payload)) + payload if wire == 2 else payload)
    any_ = field(1, 2, b"type.googleapis.com/ezscale.plugin.v1.ErrorDetail") + field(2, 2, detail.SerializeToString())
    return field(1, 0, varint(code)) + field(2, 2, message.encode()) + field(3, 2, any_)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def abort(context, err):
    number, code = KINDS[err.kind]
    detail = pb.ErrorDetail(kind=number, message=err.message, field=err.field)
    text = err.kind + (": " + err.field if err.field else "") + ": " + err.message
    context.set_trailing_metadata((("grpc-status-details-bin", rpc_status(code.value[0], text, detail)),))
    context.abort(code, text)


def handler(fn, request_class, response_class):
    def call(request, context):
        try:
            return fn(request, context)
        except PluginError as err:
            abort(context, err)
        except Exception as err:  # a bug: Internal, and keep serving
            log("error", "plugin call failed", error=repr(err))
            abort(context, PluginError("internal", repr(err)))
    return grpc.unary_unary_rpc_method_handler(
        call, request_deserializer=request_class.FromString, response_serializer=response_class.SerializeToString)


# --- durable outcomes and the fake backend ---------------------------------

class Outcomes:
    """Outcome per (operation, key) in the data directory, replayed to
    repeats; committed with a full fsync before the answer is sent."""

    def __init__(self, data_dir):
        if not data_dir:
            raise PluginError("internal", "no data directory (EZSCALE_PLUGIN_DATA_DIR): outcomes cannot be recorded")
        os.makedirs(data_dir, mode=0o700, exist_ok=True)
        self.db = sqlite3.connect(os.path.join(data_dir, "outcomes.sqlite"), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS outcomes (op TEXT, key TEXT, expires REAL, response BLOB, kind TEXT, message TEXT, field TEXT, PRIMARY KEY (op, key))")
        self.db.execute("DELETE FROM outcomes WHERE expires <= ?", (time.time(),))
        self.lock = threading.Lock()

    def do(self, op, key, response_class, fn):
        if not key:
            raise PluginError("invalid_input", "is required for this call", "idempotency_key")
        with self.lock:  # one run per key at a time (and per process)
            row = self.db.execute("SELECT response, kind, message, field FROM outcomes WHERE op = ? AND key = ? AND expires > ?",
                                  (op, key, time.time())).fetchone()
            if row:
                if row[1]:
                    raise PluginError(row[1], row[2], row[3])
                return response_class.FromString(row[0])
            try:
                resp = fn()
            except PluginError as err:
                if err.kind in ("invalid_input", "not_found"):  # refusals replay; transient failures do not
                    self.db.execute("INSERT INTO outcomes VALUES (?, ?, ?, NULL, ?, ?, ?)",
                                    (op, key, time.time() + RETENTION_SECONDS, err.kind, err.message, err.field))
                raise
            self.db.execute("INSERT INTO outcomes VALUES (?, ?, ?, ?, '', '', '')",
                            (op, key, time.time() + RETENTION_SECONDS, resp.SerializeToString()))
            return resp


class Backend:
    """A key-less "panel": servers in a JSON file, written atomically."""

    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()

    def _load(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"next": 1, "servers": {}}

    def _save(self, state):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def find(self, name):
        with self.lock:
            return next((s for s in self._load()["servers"].values() if s["name"] == name), None)

    def create(self, name, plan, owner):
        with self.lock:
            state = self._load()
            server = {"id": str(state["next"]), "name": name, "plan": plan, "owner": owner, "status": "installing"}
            state["next"] += 1
            state["servers"][server["id"]] = server
            self._save(state)
            return dict(server)

    def get(self, sid):
        with self.lock:
            state = self._load()
            server = state["servers"].get(sid)
            if server is None:
                raise PluginError("not_found", "no server %r" % sid)
            if server["status"] == "installing":  # installs finish at the first read
                server["status"] = "running"
                self._save(state)
            return dict(server)

    def set_status(self, sid, status):
        with self.lock:
            state = self._load()
            if sid not in state["servers"]:
                raise PluginError("not_found", "no server %r" % sid)
            state["servers"][sid]["status"] = status
            self._save(state)

    def delete(self, sid):
        with self.lock:
            state = self._load()
            state["servers"].pop(sid, None)  # deleting a missing server is done already
            self._save(state)


# --- the plugin ------------------------------------------------------------

PLANS = ["small", "medium", "large"]


class Plugin:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.backend = None
        self.outcomes = None

    # PluginService

    def describe(self, request, context):
        d = pb.DescribeResponse(name="pyprov", version="0.1.0", protocol_version=APP_PROTOCOL_VERSION, sdk="python/0.1.0")
        d.kinds.append(enum("PluginKind", "PLUGIN_KIND_PROVISIONER"))
        d.config_schema.fields.add(name="backend_file", type=enum("FieldType", "FIELD_TYPE_STRING"), required=True,
                                   description="the JSON file that plays the panel")
        opt = d.options.add(key="plan", type=enum("OptionType", "OPTION_TYPE_ENUM"), description="plan of new servers",
                            default="small", plan=True)
        opt.allowed_values.extend(PLANS)
        return d

    def check_config(self, config):
        """Diagnostics, named by field relative to the config block."""
        diags = []
        for name in config.fields:
            if name != "backend_file":
                diags.append(pb.Diagnostic(severity=1, field_path=name, summary="unknown field", detail="known fields: backend_file"))
        value = config.fields.get("backend_file")
        if value is None or not value.string_value:
            diags.append(pb.Diagnostic(severity=1, field_path="backend_file", summary="required field is missing"))
        return diags

    def validate_config(self, request, context):
        return pb.ValidateConfigResponse(diagnostics=self.check_config(request.config))

    def configure(self, request, context):
        diags = self.check_config(request.config)
        if not diags:
            self.backend = Backend(request.config.fields["backend_file"].string_value)
            if self.outcomes is None:
                self.outcomes = Outcomes(self.data_dir)
        return pb.ConfigureResponse(diagnostics=diags)

    def health(self, request, context):
        return pb.HealthResponse(message="ok" if self.backend else "serving; not configured yet")

    # ProvisionerService

    def ready(self):
        if self.backend is None:
            raise PluginError("unavailable", "the plugin is not configured yet")
        return self.backend

    @staticmethod
    def plan(service):
        plan = service.plan_options.get("plan", "") or "small"
        if plan not in PLANS:
            raise PluginError("invalid_input", "must be one of %s, got %r" % (", ".join(PLANS), plan), "plan_options.plan")
        return plan

    @staticmethod
    def status(server, state=None):
        if state is None:
            state = {"installing": PENDING, "running": ACTIVE, "suspended": SUSPENDED}[server["status"]]
        st = pb.ServiceStatus(external_id=server["id"], state=state)
        st.attributes["name"] = server["name"]
        st.attributes["plan"] = server["plan"]
        return st

    def validate(self, request, context):
        resp = pb.ValidateResponse()
        try:
            self.plan(request.service)
        except PluginError as err:
            resp.diagnostics.add(severity=1, field_path=err.field, summary=err.message)
        return resp

    def test_connection(self, request, context):
        self.ready().find("")
        return pb.TestConnectionResponse(message="backend file readable")

    def health_check(self, request, context):
        self.ready().find("")
        return pb.HealthCheckResponse(message="ok")

    def create(self, request, context):
        backend, service = self.ready(), request.service

        def act():
            plan = self.plan(service)
            name = "ezscale-" + service.service_id
            server = backend.find(name)  # reconcile: what an earlier attempt made
            if server is None:
                server = backend.create(name, plan, service.customer.account_id)
            return pb.CreateResponse(status=self.status(server))

        return self.outcomes.do("create", request.idempotency_key, pb.CreateResponse, act)

    def suspend(self, request, context):
        self.ready().set_status(request.service.external_id, "suspended")
        return pb.SuspendResponse(status=self.status(self.backend.get(request.service.external_id)))

    def unsuspend(self, request, context):
        self.ready().set_status(request.service.external_id, "running")
        return pb.UnsuspendResponse(status=self.status(self.backend.get(request.service.external_id)))

    def terminate(self, request, context):
        backend, service = self.ready(), request.service
        sid = service.external_id
        if not sid:  # Create never answered: delete what it may have made
            server = backend.find("ezscale-" + service.service_id)
            sid = server["id"] if server else ""
        if sid:
            backend.delete(sid)
        return pb.TerminateResponse(status=pb.ServiceStatus(external_id=sid, state=TERMINATED))

    def get_info(self, request, context):
        return pb.GetInfoResponse(status=self.status(self.ready().get(request.service.external_id)))


# --- go-plugin's own services, over raw bytes ------------------------------

def raw(fn):
    return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=None, response_serializer=None)


def serve():
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        print("This binary is a plugin. These are not meant to be executed directly.\n"
              "Please execute the program that consumes these plugins, which will load any plugins automatically.",
              file=sys.stderr)
        sys.exit(1)

    plugin = Plugin(os.environ.get("EZSCALE_PLUGIN_DATA_DIR", ""))
    stopped = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))

    def stdio(request, context):
        stopped.wait()
        yield from ()

    def unary(service, methods):
        return grpc.method_handlers_generic_handler(service, methods)

    server.add_generic_rpc_handlers((
        unary("ezscale.plugin.v1.PluginService", {
            "Describe": handler(plugin.describe, pb.DescribeRequest, pb.DescribeResponse),
            "ValidateConfig": handler(plugin.validate_config, pb.ValidateConfigRequest, pb.ValidateConfigResponse),
            "Configure": handler(plugin.configure, pb.ConfigureRequest, pb.ConfigureResponse),
            "Health": handler(plugin.health, pb.HealthRequest, pb.HealthResponse),
        }),
        unary("ezscale.plugin.v1.ProvisionerService", {
            "Validate": handler(plugin.validate, pb.ValidateRequest, pb.ValidateResponse),
            "TestConnection": handler(plugin.test_connection, pb.TestConnectionRequest, pb.TestConnectionResponse),
            "HealthCheck": handler(plugin.health_check, pb.HealthCheckRequest, pb.HealthCheckResponse),
            "Create": handler(plugin.create, pb.CreateRequest, pb.CreateResponse),
            "Suspend": handler(plugin.suspend, pb.SuspendRequest, pb.SuspendResponse),
            "Unsuspend": handler(plugin.unsuspend, pb.UnsuspendRequest, pb.UnsuspendResponse),
            "Terminate": handler(plugin.terminate, pb.TerminateRequest, pb.TerminateResponse),
            "GetInfo": handler(plugin.get_info, pb.GetInfoRequest, pb.GetInfoResponse),
        }),
        # grpc.health.v1.Health/Check: HealthCheckResponse{status: SERVING}
        # is field 1, varint 1: the two bytes 08 01.
        unary("grpc.health.v1.Health", {"Check": raw(lambda request, context: b"\x08\x01")}),
        # plugin.GRPCController/Shutdown(Empty) Empty: the core stops us.
        unary("plugin.GRPCController", {"Shutdown": raw(lambda request, context: (stopped.set(), b"")[1])}),
        # plugin.GRPCStdio/StreamStdio: we never write to stdout after the
        # handshake, so the stream stays empty until we stop.
        unary("plugin.GRPCStdio", {"StreamStdio": grpc.unary_stream_rpc_method_handler(stdio)}),
        # plugin.GRPCBroker/StartStream: no brokered connections; read until
        # the core closes the stream.
        unary("plugin.GRPCBroker", {"StartStream": grpc.stream_stream_rpc_method_handler(
            lambda requests, context: (r for r in requests if False))}),
    ))

    client_cert = os.environ.get("PLUGIN_CLIENT_CERT", "")
    cert_field = ""
    if client_cert:  # AutoMTLS: the core's certificate is our only CA
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(seconds=30))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(key, hashes.SHA256()))
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        creds = grpc.ssl_server_credentials([(key_pem, cert.public_bytes(serialization.Encoding.PEM))],
                                            root_certificates=client_cert.encode(), require_client_auth=True)
        port = server.add_secure_port("127.0.0.1:0", creds)
        cert_field = "|" + base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode().rstrip("=")
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("1|%d|tcp|127.0.0.1:%d|grpc%s" % (APP_PROTOCOL_VERSION, port, cert_field), flush=True)
    log("info", "serving", port=port)

    parent = os.getppid()

    def watch_parent():  # never outlive the core, even after a SIGKILL
        while not stopped.wait(0.5):
            if os.getppid() != parent:
                stopped.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=1)


if __name__ == "__main__":
    serve()
