# A mail relay for the tests (Debian's python3-aiosmtpd): records each message it accepts as JSON
# (envelope, content, the signed-in user, whether TLS was on) into OUT. MODE: starttls (TLS
# required before AUTH, AUTH required), implicit (TLS from the first byte) or plain (no TLS offered).
# Usage: relay.py PORT CERT KEY USER PASSWORD OUT MODE
import sys, ssl, json, os, signal
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, cert, key, user, password, out, mode = sys.argv[1:8]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        record = {"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": envelope.original_content.decode("utf-8"),
                  "user": login, "tls": tls}
        with open(os.path.join(out, "%d.json" % len(os.listdir(out))), "w") as f:
            json.dump(record, f)
        return "250 2.0.0 queued"
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
context = None
if mode in ("starttls", "implicit"):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
kwargs = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator, decode_data=False)
if mode == "starttls":
    kwargs.update(tls_context=context, require_starttls=True, auth_required=True, auth_require_tls=True)
elif mode == "implicit":
    kwargs.update(ssl_context=context, auth_required=True, auth_require_tls=False)
controller = Controller(Handler(), **kwargs)
controller.start()
print("relay ready", flush=True)
signal.pause()
