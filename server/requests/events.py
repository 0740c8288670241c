"""Audit events of member requests, inquiries, documents and the account's life."""

from __future__ import annotations

from enum import StrEnum


class RequestEvent(StrEnum):
    """Events named area:subject:action (never with codes or passwords in their data)."""

    REAUTH_SUCCESS = "requests:reauth:success"
    REAUTH_FAILURE = "requests:reauth:failure"
    CHANGE_SUBMIT = "requests:change:submit"
    CHANGE_REPLACE = "requests:change:replace"
    CHANGE_STATE = "requests:change:state"
    CHANGE_APPLY = "requests:change:apply"
    EMAIL_CODE_SENT = "requests:email:code_sent"
    EMAIL_CODE_FAILURE = "requests:email:code_failure"
    EMAIL_CHANGED = "requests:email:changed"
    INQUIRY_SEND = "requests:inquiry:send"
    INQUIRY_REPLY = "requests:inquiry:reply"
    SERVICE_STOP = "requests:service:stop"
    DOCUMENT_UPLOAD = "requests:document:upload"
