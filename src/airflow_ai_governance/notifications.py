"""Notifications along the escalation path, through Airflow's notifier classes and connections.

``notify(kind, policy=..., contacts=..., subject=..., message=..., link=...)`` tells each contact
through the channel the policy names for them:

========== ============================================ ==============================================
channel    notifier                                     connection (``[ai_governance]`` option)
========== ============================================ ==============================================
email      ``SmtpNotifier`` (providers-smtp)            ``smtp_conn_id`` (default ``[email] email_conn_id``
                                                        or ``smtp_default``); sender ``notification_from``
slack      ``SlackWebhookNotifier`` (providers-slack)   ``slack_webhook_conn_id`` (default ``slack_default``);
           for ``#channel``/``@user`` addresses          a ``https://hooks.slack.com/...`` address goes
                                                        out as a webhook (below)
webhook,   ``HttpNotifier`` (providers-http), JSON       one of ``webhook_conn_ids`` (default
teams                                                   ``ai_governance_webhook``) whose host is the
                                                        address's: a connection's credentials are only
                                                        ever sent to its own host
pagerduty  ``HttpNotifier`` to the Events API v2         ``pagerduty_conn_id`` (default ``pagerduty_events``,
                                                        host ``https://events.pagerduty.com``); the
                                                        address is the routing key
airflow    nothing to send: the request is in the       -
           user's Required Actions in Airflow
========== ============================================ ==============================================

A notification that cannot be delivered is logged and audited (``notification_failed``), never
raised: it must not fail the task that sends it. Delivered ones are audited too
(``notification_sent``), without the message body. Who is told what is decided in one place,
:func:`recipients`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from airflow_ai_governance.policy import EscalationContact, Person, UseCasePolicy

log = logging.getLogger(__name__)

NotificationKind = Literal[
    "approval_requested",
    "approval_escalated",
    "run_blocked",
    "run_failed",
    "run_rejected",
    "drift_breach",
    "review_overdue",
]
KINDS: tuple[str, ...] = get_args(NotificationKind)
DeliveryStatus = Literal["sent", "failed", "skipped"]

SECTION = "ai_governance"
DEFAULT_WEBHOOK_CONN = "ai_governance_webhook"
DEFAULT_PAGERDUTY_CONN = "pagerduty_events"
TIMEOUT_SECONDS = 10
_SEVERITY = {
    "run_failed": "error",
    "run_blocked": "warning",
    "run_rejected": "warning",
    "drift_breach": "warning",
}


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to tell, and how: a policy's escalation contact, or a person with an e-mail address."""

    id: str
    channel: str
    address: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: Recipient
    status: DeliveryStatus
    detail: str | None = None


def as_recipient(contact: EscalationContact | Person | Recipient) -> Recipient:
    if isinstance(contact, Recipient):
        return contact
    if isinstance(contact, EscalationContact):
        return Recipient(contact.id, contact.channel, contact.address)
    return Recipient(contact.id, "email", contact.email)


def recipients(kind: str, policy: UseCasePolicy, level: int = 0) -> list[Recipient]:
    """Who is told, per kind (one recipient per person and channel, in order):

    - ``approval_requested``: the reviewers (by e-mail, when the policy gives one);
    - ``approval_escalated``: the escalation contact of ``level`` (1-based), who may now answer;
    - run blocked/failed/rejected, drift breach, overdue review: the owner and the first contact
      of the escalation path.
    """
    contacts = list(policy.escalation.contacts) if policy.escalation else []
    people: list[EscalationContact | Person] = []
    if kind == "approval_requested":
        people.extend(policy.reviewers)
    elif kind == "approval_escalated":
        people.extend(contacts[level - 1 : level] if level >= 1 else [])
    else:
        people.extend([policy.owner] if policy.owner else [])
        people.extend(contacts[:1])
    out: list[Recipient] = []
    for person in people:
        recipient = as_recipient(person)
        if recipient not in out:
            out.append(recipient)
    return out


# ------------------------------------------------------------------------------- configuration
def _option(name: str, fallback: str | None = None) -> str | None:
    try:
        from airflow.configuration import conf
    except ImportError:  # a Task-SDK-only worker
        import os

        return os.environ.get(f"AIRFLOW__{SECTION.upper()}__{name.upper()}") or fallback
    value = conf.get(SECTION, name, fallback=None)
    return str(value) if value else fallback


def _connection(conn_id: str) -> Any:
    from airflow.providers.common.compat.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def _base_url(conn: Any) -> str:
    """The URL prefix an HTTP connection points at (as ``HttpHook`` builds it)."""
    host = conn.host or ""
    base = host if "://" in host else f"{conn.schema or 'https'}://{host}"
    if conn.port:
        base = f"{base}:{conn.port}"
    return base.rstrip("/")


def _webhook_target(address: str) -> tuple[str, str]:
    """The webhook connection whose host is ``address``'s, and the endpoint below it."""
    wanted = urlsplit(address)
    ids = [
        c.strip() for c in (_option("webhook_conn_ids", DEFAULT_WEBHOOK_CONN) or "").split(",") if c.strip()
    ]
    for conn_id in ids:
        try:
            base = _base_url(_connection(conn_id))
        except Exception:  # an id that is not defined: try the next
            continue
        have = urlsplit(base)
        if (have.scheme, have.netloc) == (wanted.scheme, wanted.netloc) and address.startswith(base):
            return conn_id, address[len(base) :] or "/"
    raise LookupError(
        f"no HTTP connection in [ai_governance] webhook_conn_ids ({', '.join(ids) or 'none'}) has the host of "
        f"{wanted.scheme}://{wanted.netloc}: add one (its credentials are only sent to its own host)"
    )


# ------------------------------------------------------------------------------------- channels
def _html(message: str, link: str | None) -> str:
    body = "<br>".join(html.escape(line) for line in message.splitlines())
    if link:
        body += f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p>'
    return f"<div>{body}</div>"


def _text(subject: str, message: str, link: str | None) -> str:
    return "\n".join(part for part in (subject, message, link and f"Open: {link}") if part)


def _payload(
    kind: str, policy: UseCasePolicy, recipient: Recipient, subject: str, message: str, link: str | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "use_case": policy.id,
        "title": policy.title,
        "tier": int(policy.tier),
        "contact": recipient.id,
        "subject": subject,
        "message": message,
        "link": link,
    }


def _notifier(
    kind: str, policy: UseCasePolicy, recipient: Recipient, subject: str, message: str, link: str | None
) -> Any:
    """The Airflow notifier that reaches ``recipient``; ``None`` when there is nothing to send."""
    channel, address = recipient.channel, recipient.address or ""
    if channel == "airflow":
        return None
    if not address:
        raise LookupError(f"{recipient.id} has no {channel} address in the policy of {policy.id!r}")
    if channel == "email":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(
            to=address,
            from_email=_option("notification_from"),
            subject=subject,
            html_content=_html(message, link),
            smtp_conn_id=_option("smtp_conn_id"),
        )
    if channel == "slack" and not address.startswith("https://"):
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        return SlackWebhookNotifier(
            slack_webhook_conn_id=_option("slack_webhook_conn_id", "slack_default") or "slack_default",
            text=f"{address} {_text(subject, message, link)}",
            timeout=TIMEOUT_SECONDS,
        )
    from airflow.providers.http.notifications.http import HttpNotifier

    if channel == "pagerduty":
        conn_id = _option("pagerduty_conn_id", DEFAULT_PAGERDUTY_CONN) or DEFAULT_PAGERDUTY_CONN
        body: dict[str, Any] = {
            "routing_key": address,
            "event_action": "trigger",
            "payload": {
                "summary": subject[:1024],
                "source": "airflow-ai-governance",
                "severity": _SEVERITY.get(kind, "info"),
                "custom_details": _payload(kind, policy, recipient, subject, message, link),
            },
            "links": [{"href": link, "text": "Open in Airflow"}] if link else [],
        }
        endpoint = "/v2/enqueue"
    else:  # webhook, teams, slack by URL
        conn_id, endpoint = _webhook_target(address)
        if channel == "webhook":
            body = _payload(kind, policy, recipient, subject, message, link)
        else:
            body = {"text": _text(subject, message, link)}
    return HttpNotifier(
        http_conn_id=conn_id,
        endpoint=endpoint,
        json=body,
        headers={"Content-Type": "application/json"},
        extra_options={"timeout": TIMEOUT_SECONDS, "check_response": True},
    )


# ------------------------------------------------------------------------------------- notify
def notify(
    kind: NotificationKind,
    *,
    policy: UseCasePolicy,
    contacts: Iterable[EscalationContact | Person | Recipient],
    subject: str,
    message: str,
    link: str | None = None,
    context: Mapping[str, Any] | None = None,
    governed_run_id: str | None = None,
) -> list[Delivery]:
    """Tell each contact through its channel; return what happened to each. Never raises."""
    deliveries: list[Delivery] = []
    for contact in contacts:
        recipient = as_recipient(contact)
        try:
            if kind not in KINDS:
                raise ValueError(f"unknown notification kind {kind!r}; one of {', '.join(KINDS)}")
            notifier = _notifier(kind, policy, recipient, subject, message, link)
            if notifier is None:
                deliveries.append(Delivery(recipient, "skipped", "in Airflow: the user's Required Actions"))
                continue
            notifier.notify(dict(context or {}))
            deliveries.append(Delivery(recipient, "sent"))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:500]}"
            log.warning(
                "AI governance: could not notify %s via %s (%s, use case %s): %s",
                recipient.id,
                recipient.channel,
                kind,
                policy.id,
                detail,
            )
            deliveries.append(Delivery(recipient, "failed", detail))
    _audit(kind, policy, subject, link, deliveries, governed_run_id)
    return deliveries


def _audit(
    kind: str,
    policy: UseCasePolicy,
    subject: str,
    link: str | None,
    deliveries: Sequence[Delivery],
    governed_run_id: str | None,
) -> None:
    if not deliveries:
        return
    try:
        from airflow_ai_governance.store import NewAuditEvent, append_events

        append_events(
            None,
            [
                NewAuditEvent(
                    event_type=f"notification_{'sent' if d.status == 'sent' else d.status}",
                    actor="airflow",
                    use_case_id=policy.id,
                    governed_run_id=governed_run_id,
                    payload={
                        "kind": kind,
                        "contact": d.recipient.id,
                        "channel": d.recipient.channel,
                        "subject": subject,
                        "link": link,
                        **({"error": d.detail} if d.status == "failed" else {}),
                    },
                )
                for d in deliveries
            ],
        )
    except Exception:
        log.exception("AI governance: could not audit %d notification(s) of %s", len(deliveries), policy.id)


# ----------------------------------------------------------------------------- what we say
def approval_subject(policy: UseCasePolicy, kind: str, level: int = 0) -> str:
    if kind == "approval_escalated":
        return f"[AI governance] Escalated to you (level {level}): approve the output of {policy.title}"
    return f"[AI governance] Approval needed: {policy.title} (tier {int(policy.tier)})"


def approval_message(
    policy: UseCasePolicy, dag_id: str, run_id: str, task_id: str, *, level: int, needed: int
) -> str:
    who = "You may now answer as the escalation contact." if level else "You are a reviewer of this use case."
    owner = f" The owner ({policy.owner.id}) cannot approve." if policy.owner else ""
    return (
        f"An AI output of use case {policy.id} waits for {needed} distinct approval(s).\n"
        f"DAG {dag_id}, run {run_id}, task {task_id}.\n{who}{owner}\n"
        "The review page shows the whole output, the checks, and who has answered so far; "
        "answer in Airflow's Required Actions page."
    )


def run_outcome_kind(error: BaseException | str | None) -> NotificationKind:
    """Which notification a failed governed task sends: a gate refused it, a reviewer rejected it,
    or it failed."""
    from airflow_ai_governance.exceptions import ApprovalRejected, GateFailure, UseCaseNotRunnable

    cause = (
        error.__cause__ if isinstance(error, BaseException) and error.__cause__ else error
    )  # gate_errors()
    if isinstance(cause, ApprovalRejected):
        return "run_rejected"
    if isinstance(cause, GateFailure | UseCaseNotRunnable):
        return "run_blocked"
    return "run_failed"


def run_outcome_subject(policy: UseCasePolicy, kind: str, dag_id: str, task_id: str) -> str:
    verb = {"run_rejected": "rejected", "run_blocked": "blocked by a gate", "run_failed": "failed"}[kind]
    return f"[AI governance] {policy.title}: {dag_id}.{task_id} {verb}"
