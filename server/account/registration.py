"""Registration (利用登録) with the co-op's initial password: members only, and
not before a set number of business days after joining.

Steps, each in its own request: prove who you are (member number, initial
password, birth date) -> give the address to use -> type the code mailed to
it -> choose a password, and a registration-complete mail follows. The
browser holds a random token for the steps; only its hash is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from server.account.codes import (
    CODE_LIFETIME,
    TooManyCodes,
    TooManyWrongCodes,
    check_code,
    code_cap,
    issue_code,
    lock_member_codes,
)
from server.account.eligibility import (
    membership_ended,
    refusal_reason,
    refused_message,
    registration_opens_on,
)
from server.account.initial import normalize_initial_password
from server.account.lockdown import LockdownResult, lock_down
from server.account.models import AuthCode, CodePurpose, InitialPassword, Registration
from server.audit.events import AccountEvent, LockdownEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.auth.passwords import check_new_password
from server.config import Settings
from server.errors import DomainError
from server.lib.clock import to_jst
from server.lib.dates import parse_typed_date
from server.lib.formatting import jdate, jdatetime
from server.lib.text import AddressInvalid, digits_only, valid_email
from server.mail.compose import code_ref, enqueue_mail
from server.members.models import Member
from server.security import hash_password, new_token, token_hash, verify_password

REGISTRATION_LIFETIME = timedelta(hours=1)
MAX_CODES = 5
WEEKDAYS = "月火水木金土日"


class RegistrationInputError(DomainError):
    """The form cannot be checked as filled in."""


class RegistrationRefused(DomainError):
    """Not registrable; never says whether the number, password, date or status was the reason."""


class RegistrationNotOpen(DomainError):
    """Too early: the member joined less than N business days ago."""


class RegistrationLost(DomainError):
    """The registration in this browser is over or expired: start again."""

    def __init__(self) -> None:
        super().__init__(
            "登録の手続きの有効期限が切れたか、すでに終わっています。"
            "お手数ですが、最初からやり直してください。"
        )


async def start_registration(
    member_no: str,
    initial_password: str,
    birth_date: str,
    now: datetime,
    settings: Settings,
    actor: Actor,
) -> str:
    """Check who the member is; return the token of the registration in this browser."""
    if not member_no.strip() or not initial_password.strip() or not birth_date.strip():
        raise RegistrationInputError(
            "組合員番号・初期パスワード・生年月日をすべて入力してください。"
        )
    if len(member_no) > 40 or len(initial_password) > 128 or len(birth_date) > 40:
        raise RegistrationInputError("入力が長すぎます。入力内容を確認してください。")
    born = parse_typed_date(birth_date)
    if born is None:
        raise RegistrationInputError(
            "生年月日は「1980-05-05」や「1980年5月5日」のように、西暦で入力してください。"
        )
    number = digits_only(member_no)
    member = await Member.filter(member_no=number).first() if len(number) == 8 else None
    initial = None
    if member is not None:
        initial = (
            await InitialPassword.filter(member_id=member.id, used_at=None, expires_at__gt=now)
            .order_by("-issued_at")
            .first()
        )
    # Always one argon2 check, so the time taken does not tell a number exists.
    password_ok = await verify_password(
        initial.password_hash if initial else None, normalize_initial_password(initial_password)
    )
    reason = await refusal_reason(member, password_ok, born, initial, to_jst(now).date())
    if reason is not None or member is None or initial is None:
        who = actor.anonymous().about(member) if member is not None else actor
        await record(AccountEvent.REGISTRATION_REFUSED, who, now, reason=reason or "unknown")
        raise RegistrationRefused(refused_message(settings))
    opens = registration_opens_on(member.joined_on, settings)
    if to_jst(now).date() < opens:
        await record(
            AccountEvent.REGISTRATION_TOO_EARLY,
            actor.anonymous().about(member),
            now,
            opens_on=opens.isoformat(),
        )
        raise RegistrationNotOpen(
            f"ご登録は{jdate(opens)}（{WEEKDAYS[opens.weekday()]}）から可能です。"
            f"ご加入のお手続きから{settings.registration_delay_business_days}営業日"
            "（土日・祝日・生協の休業日を除く）が過ぎてから、もう一度お試しください。"
        )
    token = new_token()
    await Registration.create(
        token_hash=token_hash(token),
        member_id=member.id,
        initial_password_id=initial.id,
        created_at=now,
        expires_at=now + REGISTRATION_LIFETIME,
    )
    await record(AccountEvent.REGISTRATION_START, actor.anonymous().about(member), now)
    return token


async def live_registration(token: str | None, now: datetime) -> Registration:
    """The registration this browser is in, with its member; RegistrationLost otherwise."""
    if not token or len(token) > 100:
        raise RegistrationLost()
    registration = (
        await Registration.filter(token_hash=token_hash(token))
        .select_related("member", "initial_password")
        .first()
    )
    if registration is None or now >= registration.expires_at:
        raise RegistrationLost()
    if registration.initial_password.used_at is not None:
        raise RegistrationLost()
    return registration


def check_email(text: str) -> str:
    """Exactly one usable address, normalised (full-width and upper case accepted)."""
    try:
        return valid_email(text)
    except AddressInvalid as error:
        raise RegistrationInputError(error.message) from None


async def send_registration_code(
    token: str | None, email: str, now: datetime, settings: Settings, actor: Actor
) -> str:
    """Mail a code to the address the member wants to use; returns the address."""
    registration = await live_registration(token, now)
    address = check_email(email)
    member = registration.member
    if await Account.filter(email=address).exclude(member_id=member.id).exists():
        raise RegistrationInputError(
            "このメールアドレスは登録に使えません。別のメールアドレスを入力してください。"
        )
    if await AuthCode.filter(flow_hash=registration.token_hash).count() >= MAX_CODES:
        raise RegistrationInputError(
            "認証コードを送った回数が上限に達しました。お手数ですが、最初からやり直してください。"
        )
    async with in_transaction():
        # Five codes an hour per member, across registrations started anew (ASVS 6.6.3).
        await lock_member_codes(member.id)
        cap = await code_cap(CodePurpose.REGISTER, member.id, now, settings.codes_per_hour)
        if cap is None:
            await _mail_registration_code(registration, address, now, settings, actor)
        else:
            who = actor.anonymous().about(member)
            until = cap.retry_at.isoformat()
            await record(AccountEvent.REGISTRATION_CODE_CAPPED, who, now, until=until)
    if cap is not None:
        raise TooManyCodes(cap.retry_at, now)
    return address


async def _mail_registration_code(
    registration: Registration, address: str, now: datetime, settings: Settings, actor: Actor
) -> None:
    member = registration.member
    registration.email = address
    registration.email_verified_at = None
    await registration.save(update_fields=["email", "email_verified_at"])
    code = await issue_code(
        CodePurpose.REGISTER,
        registration.token_hash,
        member_id=member.id,
        account_id=None,
        email=address,
        now=now,
        secret_key=settings.secret_key,
    )
    await enqueue_mail(
        address,
        "registration_code",
        settings,
        now,
        expires_at=now + CODE_LIFETIME,
        ref=code_ref(registration.token_hash),
        code=code,
        name=member.name,
        minutes=10,
    )
    await record(AccountEvent.REGISTRATION_CODE_SENT, actor.anonymous().about(member), now)


async def verify_registration_code(
    token: str | None, code: str, now: datetime, settings: Settings, actor: Actor
) -> None:
    """Accept the mailed code: the address belongs to this member."""
    registration = await live_registration(token, now)
    if registration.email is None:
        raise RegistrationInputError("先にメールアドレスを入力してください。")
    try:
        await check_code(
            CodePurpose.REGISTER, registration.token_hash, code, now, settings.secret_key
        )
    except TooManyWrongCodes as stopped:
        who = actor.anonymous().about(registration.member)
        until = stopped.retry_at.isoformat()
        await record(AccountEvent.CODE_CHECKS_STOPPED, who, now, purpose="register", until=until)
        raise
    except DomainError:
        who = actor.anonymous().about(registration.member)
        await record(AccountEvent.CODE_FAILURE, who, now, purpose="register")
        raise
    registration.email_verified_at = now
    await registration.save(update_fields=["email_verified_at"])
    who = actor.anonymous().about(registration.member)
    await record(AccountEvent.REGISTRATION_EMAIL_VERIFIED, who, now)


async def complete_registration(
    token: str | None, password: str, confirm: str, now: datetime, settings: Settings, actor: Actor
) -> Account:
    """Set the password, end the registration and queue the registration-complete mail."""
    registration = await live_registration(token, now)
    member = registration.member
    address = registration.email
    if address is None or registration.email_verified_at is None:
        raise RegistrationInputError(
            "先にメールアドレスの確認（認証コードの入力）を済ませてください。"
        )
    value = check_new_password(
        password, confirm, member_no=member.member_no, email=address, coop_name=settings.coop_name
    )
    initial_hash = registration.initial_password.password_hash
    if await verify_password(initial_hash, normalize_initial_password(value)):
        raise RegistrationInputError(
            "初期パスワードは、これからお使いになるパスワードには使えません。"
            "別のパスワードを設定してください。"
        )
    new_hash = await hash_password(value)
    await member.refresh_from_db(fields=["status", "capital_refund_on"])
    if membership_ended(member, to_jst(now).date()):
        # Withdrawn (a members import) while the steps were under way.
        await record(
            AccountEvent.REGISTRATION_REFUSED,
            actor.anonymous().about(member),
            now,
            reason="withdrawn",
        )
        raise RegistrationRefused(refused_message(settings))
    async with in_transaction():
        used = await InitialPassword.filter(
            id=registration.initial_password.id, used_at=None
        ).update(used_at=now)
        if not used:
            raise RegistrationLost()
        if await Account.filter(email=address).exclude(member_id=member.id).exists():
            raise RegistrationInputError(
                "このメールアドレスは登録に使えません。別のメールアドレスを入力してください。"
            )
        previous = await Account.filter(member_id=member.id).first()
        old_address = previous.email if previous is not None else None
        account, removed = await _save_account(
            member, address, new_hash, now, actor.anonymous().about(member)
        )
        told_old = False
        if old_address is not None and old_address != address:
            told_old = True
            # The address that loses the account hears of it (ASVS 6.4.4): a
            # registration by someone holding the initial password is not silent.
            await enqueue_mail(
                old_address,
                "reregistered_old_address",
                settings,
                now,
                name=member.name,
                member_no=member.member_no,
                at=jdatetime(now),
            )
        await Registration.filter(member_id=member.id).delete()
        await enqueue_mail(
            address,
            "registration_complete",
            settings,
            now,
            name=member.name,
            member_no=member.member_no,
            email=address,
            removed=removed,
        )
        await record(
            AccountEvent.REGISTRATION_COMPLETE,
            actor.anonymous().about(member, account),
            now,
            old_address_told=told_old,
        )
    account.member = member
    return account


async def _save_account(
    member: Member, address: str, new_hash: str, now: datetime, actor: Actor
) -> tuple[Account, LockdownResult | None]:
    """Create the account, or replace a registered one's address and password.

    Registering again with a new initial password is how a member who lost
    the address or password gets the account back by phone: whoever held it
    before loses every way in (sessions, passkeys, push devices, pending
    address changes, remembered browsers), and the result says what went.
    """
    account = await Account.filter(member_id=member.id).first()
    if account is None:
        created = await Account.create(
            member_id=member.id,
            email=address,
            password_hash=new_hash,
            state=AccountState.ACTIVE,
            registered_at=now,
            failed_count=0,
            block_count=0,
        )
        return created, None
    account.email = address
    account.password_hash = new_hash
    account.failed_count = 0
    account.blocked_until = None
    account.state = AccountState.ACTIVE
    await account.save(
        update_fields=["email", "password_hash", "failed_count", "blocked_until", "state"]
    )
    who = actor.anonymous().about(member, account)
    removed = await lock_down(account, now, who, event=LockdownEvent.REREGISTRATION)
    return account, removed
