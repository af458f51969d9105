"""A real JupyterHub on loopback for the classroom test, and a small client for it.

The hub is what a classroom runs: `jupyterhub` from PyPI, its proxy `configurable-http-proxy`
from the npm registry (`make test` installs it into build/node), the dummy authenticator and the
default local-process spawner, which starts each student's server as that student's own Unix
account. The client speaks the hub's REST API and, through the proxy, each server's contents
and kernel APIs; code runs over the kernel's websocket, as JupyterLab runs it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HUB_CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "classroom"
c.Authenticator.allowed_users = {students!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.services = [{{"name": "classroom-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "classroom-test", "services": ["classroom-test"],
                            "scopes": ["admin:users", "admin:servers", "tokens", "list:users"]}}]
"""


class HubError(AssertionError):
    """The hub or a server answered something a classroom cannot work with."""


def request(url: str, token: str, method: str = "GET", body: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """One REST call with a token; (status, JSON body or {})."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw) if raw else {}
        except ValueError:
            return err.code, {"message": raw.decode(errors="replace")[:300]}


@dataclass
class Result:
    """What one executed cell produced."""

    text: str = ""
    error: str | None = None
    outputs: list[dict] = field(default_factory=list)


async def _execute(ws_url: str, token: str, code: str, timeout: float) -> Result:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}),
                                   max_message_size=256 * 1024 * 1024)
    msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "student", "session": session, "msg_type": "execute_request",
                   "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    result, replied, idle = Result(), False, False
    deadline = time.monotonic() + timeout
    try:
        while not (replied and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply within {timeout:.0f} s to: {code[:80]!r}")
            raw = await asyncio.wait_for(conn.read_message(), left)
            if raw is None:
                raise HubError("the kernel's websocket closed (the kernel died?)")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                result.text += content["text"]
            elif kind in ("execute_result", "display_data"):
                result.outputs.append(content.get("data", {}))
                result.text += content.get("data", {}).get("text/plain", "") + "\n"
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                replied = True
                if content["status"] == "error" and not result.error:
                    result.error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
    finally:
        conn.close()
    return result


@dataclass
class Student:
    """One student's view of the hub: their token, their server, their kernel."""

    hub_url: str
    name: str
    token: str
    kernel: str | None = None

    @property
    def server(self) -> str:
        return f"{self.hub_url}/user/{self.name}"

    def api(self, path: str, method: str = "GET", body: dict | None = None, server: str | None = None):
        """A call to a server's REST API (their own unless `server` names another student's)."""
        return request(f"{self.hub_url}/user/{server or self.name}/api/{path}", self.token, method, body)

    def open_notebook(self, path: str) -> str:
        """Start a kernel for a notebook, as JupyterLab does when it opens one (cwd: its folder)."""
        status, body = self.api("sessions", "POST", {"path": path, "type": "notebook", "name": Path(path).name,
                                                     "kernel": {"name": "python3"}})
        if status not in (200, 201):
            raise HubError(f"{self.name}: could not open {path}: {status} {body}")
        self.kernel = body["kernel"]["id"]
        return self.kernel

    def run(self, code: str, timeout: float = 900) -> Result:
        ws = self.server.replace("http://", "ws://") + f"/api/kernels/{self.kernel}/channels"
        return asyncio.run(_execute(ws, self.token, code, timeout))

    def restart(self, timeout: float = 120) -> None:
        """Restart the kernel, as "Kernel → Restart" in JupyterLab does (its variables are gone)."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.api(f"kernels/{self.kernel}/restart", "POST", {})
            if status == 200:
                return
            if time.monotonic() > deadline:
                raise HubError(f"{self.name}'s kernel could not be restarted: {status} {body}")
            time.sleep(2)


class Hub:
    """The hub's REST API, as its admin service."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        return request(f"{self.url}/hub/api/{path}", self.token, method, body)

    def start_server(self, name: str, timeout: float = 180) -> Student:
        """Start a student's server (as their login would) and give back their token."""
        status, body = self.api(f"users/{name}/server", "POST", {})
        if status not in (201, 202, 400):  # 400: already running
            raise HubError(f"could not start {name}'s server: {status} {body}")
        deadline = time.monotonic() + timeout
        while True:
            _, user = self.api(f"users/{name}")
            if user.get("servers", {}).get("", {}).get("ready"):
                break
            if time.monotonic() > deadline:
                raise HubError(f"{name}'s server was not ready within {timeout} s: {user}")
            time.sleep(1)
        status, body = self.api(f"users/{name}/tokens", "POST", {"note": "classroom test", "expires_in": 3600})
        if status not in (200, 201):
            raise HubError(f"no token for {name}: {status} {body}")
        return Student(self.url, name, body["token"])
