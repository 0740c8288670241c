"""Finding a member from one search box: number, phone, email, or name and kana in any kana form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pypika_tortoise import SqlContext
from pypika_tortoise.terms import Function as SqlFunction
from tortoise.expressions import F, Function, Q, Subquery

from server.audit.events import MemberEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.errors import DomainError
from server.lib.kana import kana_key, to_hiragana, without_spaces
from server.lib.text import digits_only, nfkc, normalize_email
from server.members.models import Member

SEARCH_LIMIT = 50
MAX_QUERY = 100
MEMBER_NO_DIGITS = 8
# Digits with the separators people type in phone numbers (after NFKC, so
# full-width ones are already half-width); ー is the long-vowel mark typed as a dash.
PHONE_RE = re.compile(r"[\d\s\-‐‑–—−ー()]+")
PHONE_FULL_DIGITS = 10
# Stored phone numbers hold only digits and "-" (the import and profile changes
# both normalise them so), so one REPLACE gives the digits.
PHONE_SEPARATOR = "-"
# Name and kana are searched as one text, joined by a character no search can
# contain (whitespace is removed from the words), so no match spans the two.
NAME_KANA_JOINER = "\n"


class SearchKind(StrEnum):
    """How the search box was read."""

    MEMBER_NO = "member_no"
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"


KIND_LABELS = {
    SearchKind.MEMBER_NO: "組合員番号",
    SearchKind.PHONE: "電話番号",
    SearchKind.EMAIL: "メールアドレス",
    SearchKind.NAME: "氏名・カナ",
}


class SearchInputError(DomainError):
    """The search words cannot be used (too long)."""


@dataclass(frozen=True)
class SearchResult:
    """The members found (at most SEARCH_LIMIT) and whether there were more."""

    query: str
    kind: SearchKind
    members: list[Member]
    more: bool

    @property
    def kind_label(self) -> str:
        """How the words were read, for the result heading."""
        return KIND_LABELS[self.kind]


class _SqlReplace(SqlFunction):
    def __init__(self, term: Any, old: str, new: str, alias: str | None = None) -> None:
        super().__init__("REPLACE", term, old, new, alias=alias)


class Replace(Function):
    """SQL REPLACE(text, old, new): the same on SQLite and PostgreSQL."""

    database_func = _SqlReplace


class _SqlJoinText(SqlFunction):
    def __init__(self, *terms: Any, alias: str | None = None) -> None:
        super().__init__("JOIN_TEXT", *terms, alias=alias)

    def get_function_sql(self, ctx: SqlContext) -> str:
        # SQLite before 3.44 has no CONCAT(); both databases know `||`.
        return "(" + "||".join(self.get_arg_sql(arg, ctx) for arg in self.args) + ")"


class JoinText(Function):
    """SQL (a || b || ...) of a field and further terms (F("other") or constants)."""

    database_func = _SqlJoinText


def _name_and_kana_flat() -> Function:
    """Name and kana, joined, without half- or full-width spaces."""
    joined = JoinText("name", NAME_KANA_JOINER, F("name_kana"))
    return Replace(Replace(joined, " ", ""), "\u3000", "")


def classify(query: str) -> tuple[SearchKind, str]:
    """What the words are: member number, phone, email, or name/kana; with the value to match."""
    text = nfkc(query)
    if "@" in text:
        return SearchKind.EMAIL, normalize_email(text)
    if PHONE_RE.fullmatch(text) and any(ch.isdigit() for ch in text):
        digits = digits_only(text)
        if text.isdigit() and len(digits) <= MEMBER_NO_DIGITS:
            # Numbers are often read out without their leading zeros.
            return SearchKind.MEMBER_NO, digits.zfill(MEMBER_NO_DIGITS)
        return SearchKind.PHONE, digits
    return SearchKind.NAME, query.strip()


def _name_filter(text: str) -> Q:
    """Name or kana containing the words, ignoring spaces, width and hiragana/katakana."""
    key = kana_key(text)
    # Names are stored as written (never NFKC: 﨑 would become 崎), so the words
    # as typed are tried too; kana is stored NFKC-normalised (full-width), in
    # katakana or hiragana. Kanji-only words give one LIKE, kana two or three.
    values = {without_spaces(text), key, to_hiragana(key)}
    return Q(*(Q(flat__contains=value) for value in sorted(values)), join_type="OR")


def _filter(kind: SearchKind, value: str) -> Q:
    if kind == SearchKind.MEMBER_NO:
        return Q(member_no=value)
    if kind == SearchKind.EMAIL:
        # A subquery, not a join: the sign-in address is found through its unique index.
        accounts = Account.filter(email=value).values("member_id")
        return Q(email=value) | Q(id__in=Subquery(accounts))
    if kind == SearchKind.PHONE:
        if len(value) >= PHONE_FULL_DIGITS:
            return Q(phone_digits=value)
        # Without the area code: the end of the number.
        return Q(phone_digits__endswith=value)
    return _name_filter(value)


async def find_members(query: str) -> SearchResult:
    """Members matching the search box, by member number, ordered, capped at SEARCH_LIMIT."""
    if len(query) > MAX_QUERY:
        raise SearchInputError(f"検索する言葉は{MAX_QUERY}文字以内で入力してください。")
    kind, value = classify(query)
    queryset = Member.all()
    if kind == SearchKind.PHONE:
        queryset = queryset.annotate(phone_digits=Replace("phone", PHONE_SEPARATOR, ""))
    elif kind == SearchKind.NAME:
        queryset = queryset.annotate(flat=_name_and_kana_flat())
    rows = (
        await queryset.filter(_filter(kind, value))
        .order_by("member_no")
        .limit(SEARCH_LIMIT + 1)
        .prefetch_related("account")
    )
    return SearchResult(
        query=query, kind=kind, members=rows[:SEARCH_LIMIT], more=len(rows) > SEARCH_LIMIT
    )


async def search_members(query: str, now: datetime, actor: Actor) -> SearchResult | None:
    """Run a staff search and record it in the access log; None for an empty box."""
    if not query.strip():
        return None
    result = await find_members(query)
    await record(
        MemberEvent.SEARCH,
        actor,
        now,
        kind=str(result.kind),
        query=query[:MAX_QUERY],
        found=len(result.members),
        more=result.more,
    )
    return result
