"""`run --notify / --notify-command / --summary-json` against a local HTTP server started here."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer import notify

from .conftest import REPO, copy_store, invoke, make_generic_trial

NEXT = "sky130_ibex_nightly_20261128"


class Hook:
    """A webhook on 127.0.0.1 that answers with the queued statuses (then 200) and keeps each body."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.statuses = list(statuses or [])
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(body))
                hook.headers.append(dict(self.headers))
                if delay:
                    time.sleep(delay)
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0SECRET/B0SECRET"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sky130 study's two nights, as a nightly job would see them on two days (read-only)."""
    base = tmp_path_factory.mktemp("nights")
    first, second = base / "n1", base / "n2"
    shutil.copytree(REPO / "sample_logs" / "noodle2" / "nightly", first / "nightly")
    shutil.copytree(REPO / "sample_logs" / "noodle2" / "nightly-20261128", second / "nightly-20261128")
    return first, second


@pytest.fixture(scope="module")
def first_night_store(nights: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The store after `analyzer run n1` (the first night), made once for the module."""
    db = str(tmp_path_factory.mktemp("first_night") / "store.duckdb")
    out = str(Path(db).parent / "r1.html")
    assert invoke(CliRunner(), "run", str(nights[0]), "--db", db, "--out", out, "-q").exit_code == 0
    return db


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "WEBHOOK_RETRY_DELAY_SECONDS", 0.05)


def _second_night(runner, nights, db: str, first_night_store: str, tmp_path: Path, *args: str):
    """`analyzer run n1` (a copy of the module's store), then `analyzer run n1 n2` with `args`."""
    first, second = nights
    copy_store(first_night_store, db)
    return invoke(runner, "run", str(first), str(second), "--db", db, "--out", str(tmp_path / "r2.html"), *args)


def test_webhook_gets_slack_shaped_summary_of_what_is_new(runner, nights, first_night_store, db, tmp_path):
    summary_file = tmp_path / "summary.json"
    with Hook() as hook:
        result = _second_night(runner, nights, db, first_night_store, tmp_path, "--notify", hook.url, "--summary-json", str(summary_file))
    assert result.exit_code == 0, result.output
    assert len(hook.bodies) == 1
    assert hook.headers[0]["Content-Type"] == "application/json"
    body = hook.bodies[0]
    assert body == json.loads(summary_file.read_text())  # the file holds the same summary
    # what Slack and Mattermost render: text plus attachment fields of strings
    assert isinstance(body["text"], str) and body["text"].startswith("analyzer: 25 new trial(s) in " + NEXT)
    fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
    assert all(isinstance(v, str) for v in fields.values())
    assert "wns_ps sky130_ibex stage 1 cell_swap: -385 -> -565 ps" in fields["Metric regressions"]
    s = body["analyzer"]
    assert s["new_trials"] == 25 and s["studies"] == [NEXT]
    assert s["new_failures_by_type"] == {"out_of_memory": 2, "segfault": 1, "routing_failed": 1, "timeout": 1}
    segfault = f"{NEXT}/sky130_ibex_2_5/stage_2/trial_5"
    assert {r["trial_id"] for r in s["new_catastrophic_failures"]} == {
        f"{NEXT}/sky130_ibex_0_4/stage_0/trial_4", f"{NEXT}/sky130_ibex_2_3/stage_2/trial_3", segfault}
    # only the segfault is new: the OOMs, the congestion and the hard timeout happened the night before
    assert [(r["failure_type"], r["example_trial_id"]) for r in s["new_failure_signatures"]] == [("segfault", segfault)]
    assert {r["eco_class"] for r in s["contained_eco_classes"]} == {"placement_local", "routing_affecting"}
    assert [(r["metric"], r["eco_name"], r["previous_value"], r["value"]) for r in s["metric_regressions"]] == [
        ("wns_ps", "cell_swap", -385.0, -565.0)]
    timeouts = {r["trial_id"]: r for r in s["timeouts"]}
    assert timeouts[f"{NEXT}/sky130_ibex_2_7/stage_2/trial_7"]["timed_out"] is True
    assert timeouts[f"{NEXT}/sky130_ibex_0_6/stage_0/trial_6"]["soft_timed_out"] is True
    assert s["report"] == str((tmp_path / "r2.html").resolve())


def test_nothing_new_gives_a_quiet_summary(runner, nights, first_night_store, db, tmp_path):
    first, _ = nights
    out = str(tmp_path / "r.html")
    copy_store(first_night_store, db)  # `analyzer run n1` once already
    with Hook() as hook:
        result = invoke(runner, "run", str(first), "--db", db, "--out", out, "-q", "--notify", hook.url)
    assert result.exit_code == 0
    s = hook.bodies[0]["analyzer"]
    assert (s["new_trials"], s["new_failures"], s["metric_regressions"]) == (0, 0, [])
    assert hook.bodies[0]["attachments"][0]["color"] == "#009E73"


def test_down_webhook_only_warns_and_fail_on_still_decides(runner, nights, first_night_store, db, tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/hooks/T0SECRET"
    result = _second_night(runner, nights, db, first_night_store, tmp_path, "--notify", url, "--fail-on", "catastrophic")
    assert result.exit_code == 6  # --fail-on, not the webhook
    assert f"warning: webhook http://127.0.0.1:{url.split(':')[2].split('/')[0]} not notified (" in result.stderr
    assert "2 tries); the run goes on" in result.stderr
    assert "SECRET" not in result.stderr  # the webhook path is a credential: never printed
    without_fail_on = invoke(runner, "run", str(nights[0]), "--db", db, "--out", str(tmp_path / "r3.html"),
                             "--notify", url)
    assert without_fail_on.exit_code == 0 and "not notified" in without_fail_on.stderr


def test_webhook_is_retried_once_on_a_server_error_not_on_a_client_error(runner, nights, first_night_store, db, tmp_path):
    with Hook(statuses=[503]) as hook:
        result = _second_night(runner, nights, db, first_night_store, tmp_path, "--notify", hook.url)
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert len(hook.bodies) == 2 and hook.bodies[0] == hook.bodies[1]
    with Hook(statuses=[400, 400]) as hook:
        assert notify.post_webhook(hook.url, {"text": "x"}) == \
            f"webhook http://127.0.0.1:{hook.server.server_port} not notified (HTTP 400 Bad Request; 1 try)"
    assert len(hook.bodies) == 1


def test_slow_webhook_times_out_and_warns(runner, nights, first_night_store, db, tmp_path, monkeypatch):
    monkeypatch.setattr(notify, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    with Hook(delay=1.5) as hook:
        result = _second_night(runner, nights, db, first_night_store, tmp_path, "--notify", hook.url, "-q")
    assert result.exit_code == 0
    assert "not notified (timed out; 2 tries); the run goes on" in result.stderr
    assert len(hook.bodies) == 2


def test_notify_command_gets_the_json_on_stdin(runner, nights, first_night_store, db, tmp_path):
    got = tmp_path / "from_stdin.json"
    script = "import json, sys; d = json.load(sys.stdin); open(sys.argv[1], 'w').write(json.dumps(d))"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {shlex.quote(str(got))}"
    result = _second_night(runner, nights, db, first_night_store, tmp_path, "--notify-command", command, "--summary-json",
                           str(tmp_path / "s.json"))
    assert result.exit_code == 0, result.output
    assert "notify-command: summary delivered (25 new trials, 5 failed, 1 metric regression(s))" in result.stderr
    assert json.loads(got.read_text()) == json.loads((tmp_path / "s.json").read_text())


def test_failing_notify_command_only_warns(runner, tmp_path, db):
    root = tmp_path / "nightly"
    make_generic_trial(root, "oom", "137", stderr="Killed\n")
    failing = f"{shlex.quote(sys.executable)} -c \"import sys; sys.stdin.read(); sys.exit('no mail server')\""
    result = invoke(runner, "run", str(root), "--db", db, "--out", str(tmp_path / "r.html"), "-q",
                    "--notify-command", failing, "--fail-on", "oom")
    assert result.exit_code == 6
    assert "warning: --notify-command exited 1: no mail server; the run goes on" in result.stderr


def test_a_non_http_url_is_refused_without_a_request(runner, tmp_path, db):
    root = tmp_path / "nightly"
    make_generic_trial(root, "ok", "0", stdout="done\n")
    result = invoke(runner, "run", str(root), "--db", db, "--out", str(tmp_path / "r.html"), "-q",
                    "--notify", "file:///etc/passwd")
    assert result.exit_code == 0
    assert "warning: --notify 'file:///etc/passwd': not an http(s) URL; the run goes on" in result.stderr
