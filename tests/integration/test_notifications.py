"""Notifications along the escalation path, delivered for real: Airflow's notifier classes and
connections against a local SMTP sink and local HTTP receivers; message content checked.

The wiring is tested under ``dag.test()`` with the shipped examples: the approval gate tells the
reviewers when a request opens and the next contact at each escalation step (links to the review
page), and the task-failure listener tells the owner and the first contact when a run is blocked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from helpers.sinks import HttpSink, SmtpSink, http_sink, smtp_sink, wait_for
from helpers.ui import REPO

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BASE_URL = "http://airflow.example.test:8080"


@dataclass
class Sinks:
    smtp: SmtpSink
    hooks: HttpSink  # the host the webhook / PagerDuty / Slack connections point at
    foreign: HttpSink  # a host no connection names


def _conn(**fields: Any) -> str:
    return json.dumps(fields)


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sinks]:
    with smtp_sink() as smtp, http_sink() as hooks, http_sink() as foreign:
        env = {
            "AIRFLOW_CONN_SMTP_DEFAULT": _conn(
                conn_type="smtp",
                host="127.0.0.1",
                port=smtp.port,
                extra={"disable_tls": True, "disable_ssl": True, "retry_limit": 0, "timeout": 5},
            ),
            "AIRFLOW_CONN_SLACK_DEFAULT": _conn(
                conn_type="slackwebhook", password=f"{hooks.url}/slack/T0/B0/x"
            ),
            "AIRFLOW_CONN_AI_GOVERNANCE_WEBHOOK": _conn(
                conn_type="http",
                host="127.0.0.1",
                port=hooks.port,
                schema="http",
                login="hook",
                password="s3cret",
            ),
            "AIRFLOW_CONN_PAGERDUTY_EVENTS": _conn(
                conn_type="http", host="127.0.0.1", port=hooks.port, schema="http"
            ),
            "AIRFLOW__AI_GOVERNANCE__NOTIFICATION_FROM": "ai-governance@example.com",
            "AIRFLOW__API__BASE_URL": BASE_URL,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield Sinks(smtp, hooks, foreign)


def _policy(contacts: list[dict[str, str]]) -> Any:
    from airflow_ai_governance.policy import UseCasePolicy

    doc = yaml.safe_load((REPO / "dags/governance/product_claims.yaml").read_text())
    doc["escalation"]["contacts"] = contacts
    return UseCasePolicy.model_validate(doc)


def _audit(url: str, kind: str) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.text("SELECT actor, payload FROM audit_event WHERE event_type = :t ORDER BY seq"),
                {"t": kind},
            )
        )
    engine.dispose()
    return [json.loads(r.payload) for r in rows]


@pytest.fixture
def sidecar(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", sqlite_url)
    return sqlite_url


def test_each_channel_goes_out_through_its_airflow_notifier(sinks: Sinks, sidecar: str) -> None:
    from airflow_ai_governance.notifications import notify

    contacts = [
        {"id": "lena", "channel": "email", "address": "lena@example.com"},
        {"id": "oncall", "channel": "slack", "address": "#claims-oncall"},
        {"id": "hook", "channel": "webhook", "address": f"{sinks.hooks.url}/aigov/events?src=airflow"},
        {"id": "pager", "channel": "pagerduty", "address": "R0UTINGKEY42"},
        {"id": "board", "channel": "airflow", "address": "board"},
    ]
    policy = _policy(contacts)
    link = f"{BASE_URL}/ai-governance/review/product_claims/r1/approve/-1"
    deliveries = notify(
        "approval_escalated",
        policy=policy,
        contacts=policy.escalation.contacts,
        subject="[AI governance] Escalated: approve claims",
        message="An output waits for 2 approvals.\nDAG product_claims, run r1.",
        link=link,
    )
    assert [(d.recipient.id, d.status) for d in deliveries] == [
        ("lena", "sent"),
        ("oncall", "sent"),
        ("hook", "sent"),
        ("pager", "sent"),
        ("board", "skipped"),
    ], [d.detail for d in deliveries]

    (mail,) = sinks.smtp.to("lena@example.com")
    assert mail["Subject"] == "[AI governance] Escalated: approve claims"
    assert mail["From"] == "ai-governance@example.com"
    body = SmtpSink.html(mail)
    assert "An output waits for 2 approvals.<br>DAG product_claims, run r1." in body
    assert f'<a href="{link}">' in body

    (slack,) = sinks.hooks.at("/slack/T0/B0/x")
    assert slack.body["text"].startswith("#claims-oncall [AI governance] Escalated")
    assert f"Open: {link}" in slack.body["text"]

    (hook,) = sinks.hooks.at("/aigov/events?src=airflow")
    assert hook.body == {
        "kind": "approval_escalated",
        "use_case": "product-claims",
        "title": "Public product performance claims",
        "tier": 3,
        "contact": "hook",
        "subject": "[AI governance] Escalated: approve claims",
        "message": "An output waits for 2 approvals.\nDAG product_claims, run r1.",
        "link": link,
    }
    assert hook.headers["Authorization"].startswith("Basic ")  # the connection's credentials

    (page,) = sinks.hooks.at("/v2/enqueue")
    assert page.body["routing_key"] == "R0UTINGKEY42" and page.body["event_action"] == "trigger"
    assert page.body["payload"]["summary"] == "[AI governance] Escalated: approve claims"
    assert page.body["links"] == [{"href": link, "text": "Open in Airflow"}]

    audited = _audit(sidecar, "notification_sent")
    assert [(a["contact"], a["channel"], a["kind"]) for a in audited] == [
        ("lena", "email", "approval_escalated"),
        ("oncall", "slack", "approval_escalated"),
        ("hook", "webhook", "approval_escalated"),
        ("pager", "pagerduty", "approval_escalated"),
    ]
    assert all("message" not in a for a in audited)  # the body is not stored
    assert [a["contact"] for a in _audit(sidecar, "notification_skipped")] == ["board"]


def test_a_connection_s_credentials_never_go_to_another_host(sinks: Sinks, sidecar: str) -> None:
    """A policy author cannot point a webhook at their own server to collect a connection's secret."""
    from airflow_ai_governance.notifications import notify

    policy = _policy([{"id": "exfil", "channel": "webhook", "address": f"{sinks.foreign.url}/collect"}])
    (delivery,) = notify(
        "run_failed", policy=policy, contacts=policy.escalation.contacts, subject="s", message="m"
    )
    assert delivery.status == "failed"
    assert "has the host of http://127.0.0.1:" in (delivery.detail or "")
    time.sleep(0.5)
    assert sinks.foreign.requests == [] and sinks.hooks.requests == []
    (failed,) = _audit(sidecar, "notification_failed")
    assert failed["contact"] == "exfil" and "webhook_conn_ids" in failed["error"]


def test_an_unreachable_channel_is_logged_and_audited_and_never_raises(
    sinks: Sinks, sidecar: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_ai_governance.notifications import notify
    from helpers.sinks import free_port

    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        _conn(
            conn_type="smtp",
            host="127.0.0.1",
            port=free_port(),
            extra={"disable_tls": True, "disable_ssl": True, "retry_limit": 0, "timeout": 3},
        ),
    )
    policy = _policy(
        [
            {"id": "lena", "channel": "email", "address": "lena@example.com"},
            {"id": "hook", "channel": "webhook", "address": f"{sinks.hooks.url}/aigov"},
        ]
    )
    deliveries = notify(
        "run_blocked", policy=policy, contacts=policy.escalation.contacts, subject="s", message="m"
    )
    assert [(d.recipient.id, d.status) for d in deliveries] == [("lena", "failed"), ("hook", "sent")]
    assert "could not notify lena via email" in caplog.text
    (failed,) = _audit(sidecar, "notification_failed")
    assert failed["contact"] == "lena" and failed["error"]
    assert [a["contact"] for a in _audit(sidecar, "notification_sent")] == ["hook"]


# ------------------------------------------------------------------------ wired into the DAGs
class _Driver(threading.Thread):
    """Plays the scheduler's timeout sweep once, then answers like Airflow's REST route."""

    def __init__(self, dag_id: str, task_id: str, steps: list[Any], timeout: float = 240.0) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.task_id, self.steps, self.timeout = dag_id, task_id, list(steps), timeout
        self.done: list[Any] = []
        self.error: BaseException | None = None

    def _time_out(self) -> bool:
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session

        from helpers.hitl import _open_request

        with create_session() as session:
            found = _open_request(session, self.dag_id, self.task_id)
            if found is None:
                return False
            event = {
                "error": "The Human-in-the-loop response timeout has passed without a response.",
                "error_type": "timeout",
            }
            handle_event_submit(
                TriggerEvent(event), task_instance=found[0], session=session
            )  # as the scheduler does
        return True

    def run(self) -> None:
        from helpers.hitl import _answer_once

        deadline = time.monotonic() + self.timeout
        while self.steps and time.monotonic() < deadline:
            step = self.steps[0]
            try:
                ok = self._time_out() if step == "timeout" else _answer_once(self.dag_id, self.task_id, step)
            except Exception as exc:
                self.error = exc
                return
            if ok:
                self.done.append(self.steps.pop(0))
            time.sleep(0.3)


def test_approval_notifies_reviewers_once_then_each_escalation_contact(
    dagbag: Any, governed_sidecar: str, sinks: Sinks
) -> None:
    from airflow.models import import_all_models

    from helpers.hitl import Answer

    import_all_models()
    dag = dagbag.dags["product_claims"]
    driver = _Driver(
        "product_claims",
        "product_claims.approval",
        ["timeout", Answer("lena", ["Approve"]), Answer("eric", ["Approve"])],
    )
    driver.start()
    dag_run = dag.test()
    driver.join(timeout=5)
    assert driver.error is None and not driver.steps, driver.steps
    assert str(dag_run.state) == "success"

    review = f"{BASE_URL}/ai-governance/review/product_claims/"
    requested = [m for m in sinks.smtp.messages if m["Subject"].startswith("[AI governance] Approval needed")]
    assert sorted(str(m["To"]) for m in requested) == [
        "eric@example.com",
        "lena@example.com",
        "rachel@example.com",
    ]
    for mail in requested:  # one e-mail per reviewer, although the request parked three times
        body = SmtpSink.html(mail)
        assert review in body and "/product_claims.approval/-1" in body
        assert "waits for 2 distinct approval(s)" in body and "The owner (paula) cannot approve." in body
    escalated = [m for m in sinks.smtp.messages if "Escalated to you (level 1)" in m["Subject"]]
    assert [str(m["To"]) for m in escalated] == ["lena@example.com"]  # level 1 of the path
    assert "You may now answer as the escalation contact." in SmtpSink.html(escalated[0])
    kinds = [(a["kind"], a["contact"]) for a in _audit(governed_sidecar, "notification_sent")]
    assert kinds == [
        ("approval_requested", "lena"),
        ("approval_requested", "eric"),
        ("approval_requested", "rachel"),
        ("approval_escalated", "lena"),
    ]


def test_a_blocked_run_notifies_the_owner_and_the_first_contact(
    dagbag: Any, governed_sidecar: str, sinks: Sinks, tmp_path: Any
) -> None:
    dag = dagbag.dags["aigov_test_tier1"]
    text = "Refund approved for card 4111 1111 1111 1111 by the finance team."
    output = [{"meeting_id": "m1", "summary": "Refund approved by finance.", "action_items": 1}]
    dag_run = dag.test(run_conf={"data": text, "marker": str(tmp_path / "called"), "output": output})
    assert str(dag_run.state) == "failed"
    assert wait_for(lambda: bool(sinks.smtp.to("olivia@example.com")), timeout=10)
    (mail,) = sinks.smtp.to("olivia@example.com")  # owner and first contact are the same person: once
    assert (
        mail["Subject"]
        == "[AI governance] Internal meeting summaries: aigov_test_tier1.meeting_summaries.data_boundary blocked by a gate"
    )
    body = SmtpSink.html(mail)
    assert "CREDIT_CARD" in body and "4111" not in body  # the gate's reason, never the value
    assert f"{BASE_URL}/dags/aigov_test_tier1/runs/" in body
    sent = _audit(governed_sidecar, "notification_sent")
    assert [(a["kind"], a["contact"], a["channel"]) for a in sent] == [("run_blocked", "olivia", "email")]
