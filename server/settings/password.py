"""「パスワードを変更」 in /settings: the current password, then a new one (ASVS 6.2.2, 6.2.3).

The new password follows the rules of registration (`check_new_password`),
the current one is checked as sign-in checks it (`password_matches`). Other
devices are signed out and must pass the mailed code again; the member
chooses whether this browser stays signed in.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from server.audit.events import PasswordEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.passwords import check_new_password, password_matches
from server.auth.sessions import EndedSignIns, SignInKept, end_other_sign_ins
from server.config import Settings
from server.errors import DomainError
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.security import hash_password
from server.settings.sections import SettingsSection

PAGE = "/settings/password"


class PasswordChangeError(DomainError):
    """The current password was wrong, or the new one breaks a rule."""


async def password_section() -> SettingsSection:
    """パスワード: what changing it does, and the link to the page."""
    return SettingsSection("settings/_password.html", {"path": PAGE})


async def change_password(
    account: Account,
    member: Member,
    current: str,
    new: str,
    confirm: str,
    keep: SignInKept,
    settings: Settings,
    now: datetime,
    actor: Actor,
) -> EndedSignIns:
    """Check the current password, set the new one, end other sign-ins, mail and audit it."""
    if account.password_hash is None:
        raise PasswordChangeError(
            "パスワードが設定されていません。パスワードを設定するには、"
            "ログイン画面の「パスワードをお忘れの方」からお手続きください。"
        )
    if not current:
        raise PasswordChangeError("現在のパスワードを入力してください。")
    if not await password_matches(account.password_hash, current):
        await record(PasswordEvent.CHANGE_FAILURE, actor, now, reason="current_password")
        raise PasswordChangeError(
            "現在のパスワードが正しくありません。入力内容（全角・半角、大文字・小文字）を"
            "確認して、もう一度入力してください。"
        )
    value = check_new_password(
        new, confirm, member_no=member.member_no, email=account.email, coop_name=settings.coop_name
    )
    if await password_matches(account.password_hash, value):
        raise PasswordChangeError(
            "新しいパスワードが現在のパスワードと同じです。別のパスワードを入力してください。"
        )
    new_hash = await hash_password(value)
    async with in_transaction():
        await Account.filter(id=account.id).update(password_hash=new_hash)
        ended = await end_other_sign_ins(account.id, keep)
        await enqueue_mail(
            account.email,
            "password_changed",
            settings,
            now,
            name=member.name,
            kept_here=keep.session_id is not None,
        )
        await record(
            PasswordEvent.CHANGE,
            actor,
            now,
            sessions_ended=ended.sessions,
            browsers_forgotten=ended.browsers,
            this_browser_kept=keep.session_id is not None,
        )
    account.password_hash = new_hash
    return ended
