"""Every event the access log records: its stored name, what staff read, what the member reads.

Names are area:subject:action and never change once recorded (the log keeps them). Each
event has a label in the staff's words for the access log; the ones a member sees in
/settings also have one in theirs, under the list that shows them: the security history
(`timeline`, or `sign_in` for sign-ins, shown with their method) or the views of their
own data (`view`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Label:
    """What staff read for an event, and what the member reads in the list that shows it."""

    staff: str
    timeline: str = ""
    sign_in: str = ""
    view: str = ""


class AuthEvent(StrEnum):
    LOGIN_SUCCESS = "auth:login:success"
    # The password was right and a code was (or may be) asked next: not yet a sign-in.
    LOGIN_PASSWORD_OK = "auth:login:password_ok"  # noqa: S105 - an event name
    LOGIN_FAILURE = "auth:login:failure"
    LOGIN_BLOCKED = "auth:login:blocked"
    ACCOUNT_BLOCK = "auth:account:block"
    ACCOUNT_UNBLOCK = "auth:account:unblock"
    LOGOUT = "auth:session:logout"
    SESSION_EXPIRED = "auth:session:expired"
    SESSION_ACCESS_ENDED = "auth:session:access_ended"
    SESSIONS_END_OTHERS = "auth:session:end_others"
    SESSIONS_END_EVERYONE = "auth:session:end_everyone"


class AccountEvent(StrEnum):
    INITIAL_PASSWORD_ISSUE = "account:initial_password:issue"  # noqa: S105 - an event name
    REGISTRATION_START = "account:registration:start"
    REGISTRATION_REFUSED = "account:registration:refused"
    REGISTRATION_TOO_EARLY = "account:registration:too_early"
    REGISTRATION_CODE_SENT = "account:registration:code_sent"
    REGISTRATION_EMAIL_VERIFIED = "account:registration:email_verified"
    REGISTRATION_COMPLETE = "account:registration:complete"
    CODE_FAILURE = "account:code:failure"
    RESET_REQUEST = "account:password_reset:request"
    RESET_COMPLETE = "account:password_reset:complete"
    LOGIN_CODE_SENT = "account:login_code:sent"
    LOGIN_CODE_SUCCESS = "account:login_code:success"
    LOGIN_CODE_CAPPED = "account:login_code:capped"
    CODE_CHECKS_STOPPED = "account:code:checks_stopped"
    REGISTRATION_CODE_CAPPED = "account:registration:code_capped"
    BROWSER_REMEMBER = "account:browser:remember"
    BROWSER_FORGET = "account:browser:forget"
    DEVICE_NEW = "account:device:new"


class LockdownEvent(StrEnum):
    """The member's lost-device protection and a new registration's clean slate."""

    LOST_DEVICE = "account:lockdown:lost_device"
    REREGISTRATION = "account:lockdown:reregistration"


class PasswordEvent(StrEnum):
    CHANGE = "account:password:change"
    CHANGE_FAILURE = "account:password:change_failure"


class PasskeyEvent(StrEnum):
    CREDENTIAL_ADD = "passkey:credential:add"
    CREDENTIAL_ADD_FAILURE = "passkey:credential:add_failure"
    CREDENTIAL_RENAME = "passkey:credential:rename"
    CREDENTIAL_REMOVE = "passkey:credential:remove"
    COUNTER_REGRESSION = "passkey:credential:counter_regression"
    LOGIN_FAILURE = "passkey:login:failure"
    REAUTH_SUCCESS = "passkey:reauth:success"
    REAUTH_FAILURE = "passkey:reauth:failure"


class RequestEvent(StrEnum):
    """Change requests, email changes, inquiries and forms (never codes in their data)."""

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


class StatementEvent(StrEnum):
    LIST_VIEWED = "statements:list:view"
    VIEWED = "statements:statement:view"
    DOWNLOADED = "statements:statement:download"


class MemberPageEvent(StrEnum):
    PROFILE_VIEWED = "members:profile:view"


class CapitalEvent(StrEnum):
    VIEWED = "capital:capital:view"


class CardEvent(StrEnum):
    ISSUE = "card:certificate:issue"
    RENEW = "card:certificate:renew"
    RENEW_REFUSED = "card:certificate:renew_refused"
    REVOKE = "card:certificate:revoke"


class PushEvent(StrEnum):
    SUBSCRIBED = "push:subscription:create"
    RESUBSCRIBED = "push:subscription:update"
    UNSUBSCRIBED = "push:subscription:delete"
    PREFERENCES = "push:preference:update"


class ImportEvent(StrEnum):
    APPLIED = "imports:file:applied"
    CHECKED = "imports:file:checked"
    REJECTED = "imports:file:rejected"
    # The operator chose the file's value over one recorded in the console.
    OVERWRITTEN = "imports:override:overwritten"


class MailEvent(StrEnum):
    GIVE_UP = "mail:outbox:give_up"


class StaffEvent(StrEnum):
    LOGIN_SUCCESS = "staff:login:success"
    LOGIN_FAILURE = "staff:login:failure"
    LOGOUT = "staff:session:logout"
    SESSION_EXPIRED = "staff:session:expired"
    ACCOUNT_CREATE = "staff:account:create"
    ACCOUNT_UPDATE = "staff:account:update"
    SETUP_LINK_SEND = "staff:setup_link:send"
    SETUP_LINK_FAILURE = "staff:setup_link:failure"
    PASSKEY_ADD = "staff:passkey:add"
    PASSKEY_ADD_FAILURE = "staff:passkey:add_failure"
    PASSKEY_REMOVE = "staff:passkey:remove"
    PASSKEY_COUNTER_REGRESSION = "staff:passkey:counter_regression"


class AccessLogEvent(StrEnum):
    VIEW = "staff:access_log:view"
    EXPORT = "staff:access_log:export"


class MemberEvent(StrEnum):
    """What staff did on the members screen (every view and action)."""

    SEARCH = "staff:member:search"
    VIEW = "staff:member:view"
    INITIAL_PASSWORD_ISSUE = "staff:member:initial_password"  # noqa: S105 - an event name
    LETTER_PRINT = "staff:member:letter"
    LETTER_REFUSED = "staff:member:letter_refused"
    UNBLOCK = "staff:member:unblock"
    SESSIONS_END = "staff:member:sessions_end"
    WITHDRAWAL = "staff:member:withdrawal"
    CARD_REVOKE = "staff:member:card_revoke"


class ChangeEvent(StrEnum):
    PROCESS = "staff:change_request:process"
    APPROVE = "staff:change_request:approve"
    RETURN = "staff:change_request:return"


class InquiryEvent(StrEnum):
    REPLY = "staff:inquiry:reply"
    NOTE = "staff:inquiry:note"
    ASSIGN = "staff:inquiry:assign"
    UNASSIGN = "staff:inquiry:unassign"


class NoticeEvent(StrEnum):
    CREATE = "staff:notice:create"
    WITHDRAW = "staff:notice:withdraw"


class ImportStaffEvent(StrEnum):
    DRY_RUN = "staff:import:dry_run"
    UPLOAD_REFUSED = "staff:import:upload_refused"
    APPLY = "staff:import:apply"
    APPLY_FAILED = "staff:import:apply_failed"
    APPLY_REFUSED = "staff:import:apply_refused"


class PaperStaffEvent(StrEnum):
    """The paper statement list (names and addresses: every look is recorded)."""

    VIEW = "staff:paper:view"
    EXPORT = "staff:paper:export"


class DocumentStaffEvent(StrEnum):
    """The forms screen (a stored upload is RequestEvent.DOCUMENT_UPLOAD)."""

    UPLOAD_REFUSED = "staff:document:upload_refused"


class RefusalEvent(StrEnum):
    """Requests refused for want of authorization."""

    CSRF = "security:csrf:refused"
    AUTHZ = "security:authz:refused"
    RECORD = "security:record:not_found"
    RATE = "security:rate:limited"


LABELS: dict[str, Label] = {
    AuthEvent.LOGIN_SUCCESS: Label("ログイン成功", sign_in="ログイン"),
    AuthEvent.LOGIN_PASSWORD_OK: Label(
        "パスワード確認（認証コードの前）", timeline="パスワードの確認（ログイン）"
    ),
    AuthEvent.LOGIN_FAILURE: Label("ログイン失敗", timeline="ログインの失敗"),
    AuthEvent.LOGIN_BLOCKED: Label("ブロック中のログイン", timeline="ブロック中のログイン"),
    AuthEvent.ACCOUNT_BLOCK: Label(
        "ログインの一時停止", timeline="ログインの一時停止（失敗が続いたため）"
    ),
    AuthEvent.LOGOUT: Label("ログアウト", timeline="ログアウト"),
    AuthEvent.SESSION_EXPIRED: Label("ログインの有効期限切れ"),
    AuthEvent.SESSION_ACCESS_ENDED: Label(
        "利用終了によるログインの終了", timeline="ご利用終了によるログアウト"
    ),
    AuthEvent.SESSIONS_END_OTHERS: Label(
        "ほかの端末のログインの終了", timeline="ほかの端末のログインの終了"
    ),
    AuthEvent.SESSIONS_END_EVERYONE: Label("全員のログインの終了（管理者のコマンド）"),
    AuthEvent.ACCOUNT_UNBLOCK: Label(
        "ログインの一時停止の解除", timeline="ログインの一時停止の解除"
    ),
    AccountEvent.INITIAL_PASSWORD_ISSUE: Label("初期パスワードの発行"),
    AccountEvent.REGISTRATION_START: Label("利用登録の開始"),
    AccountEvent.REGISTRATION_REFUSED: Label("利用登録の拒否"),
    AccountEvent.REGISTRATION_TOO_EARLY: Label("利用登録（受付開始前）"),
    AccountEvent.REGISTRATION_CODE_SENT: Label("利用登録の確認コード送信"),
    AccountEvent.REGISTRATION_EMAIL_VERIFIED: Label("利用登録のメール確認"),
    AccountEvent.REGISTRATION_COMPLETE: Label("利用登録の完了", timeline="利用登録"),
    AccountEvent.CODE_FAILURE: Label("確認コードの誤り", timeline="認証コードの誤り"),
    AccountEvent.RESET_REQUEST: Label("パスワード再設定の申請", timeline="パスワード再設定の申請"),
    AccountEvent.RESET_COMPLETE: Label("パスワード再設定の完了", timeline="パスワードの再設定"),
    AccountEvent.LOGIN_CODE_SENT: Label(
        "ログイン用コードの送信", timeline="認証コードの送信（ログイン）"
    ),
    AccountEvent.LOGIN_CODE_SUCCESS: Label(
        "ログイン用コードの確認", timeline="認証コードの確認（ログイン）"
    ),
    AccountEvent.LOGIN_CODE_CAPPED: Label(
        "ログイン用コードの送信制限（1時間の上限）",
        timeline="認証コードの送信の一時停止（送信が続いたため）",
    ),
    AccountEvent.CODE_CHECKS_STOPPED: Label(
        "コードの誤りが続いたための確認停止",
        timeline="認証コードの確認の一時停止（誤りが続いたため）",
    ),
    AccountEvent.REGISTRATION_CODE_CAPPED: Label("利用登録の確認コードの送信制限（1時間の上限）"),
    AccountEvent.BROWSER_REMEMBER: Label("ブラウザーの記憶", timeline="端末の記憶"),
    AccountEvent.BROWSER_FORGET: Label("記憶したブラウザーの削除", timeline="端末の記憶の解除"),
    AccountEvent.DEVICE_NEW: Label("新しい端末からのログイン", timeline="新しい端末からのログイン"),
    LockdownEvent.LOST_DEVICE: Label(
        "端末をなくしたときの保護（全端末のログアウトなど）",
        timeline="端末をなくしたときの保護（全端末のログアウトなど）",
    ),
    LockdownEvent.REREGISTRATION: Label(
        "再登録による以前の端末・パスキーの解除", timeline="再登録による以前の端末・パスキーの解除"
    ),
    PasswordEvent.CHANGE: Label("パスワードの変更（設定画面から）", timeline="パスワードの変更"),
    PasswordEvent.CHANGE_FAILURE: Label(
        "パスワード変更の失敗（現在のパスワードの誤り）",
        timeline="パスワードの変更の失敗（現在のパスワードの誤り）",
    ),
    PasskeyEvent.CREDENTIAL_ADD: Label("パスキーの追加", timeline="パスキーの追加"),
    PasskeyEvent.CREDENTIAL_ADD_FAILURE: Label(
        "パスキーの追加の失敗", timeline="パスキーの追加の失敗"
    ),
    PasskeyEvent.CREDENTIAL_RENAME: Label("パスキーの名前の変更", timeline="パスキーの名前の変更"),
    PasskeyEvent.CREDENTIAL_REMOVE: Label("パスキーの削除", timeline="パスキーの削除"),
    PasskeyEvent.COUNTER_REGRESSION: Label(
        "不審なパスキーの利用", timeline="不審なパスキーの利用（拒否しました）"
    ),
    PasskeyEvent.LOGIN_FAILURE: Label(
        "パスキーでのログイン失敗", timeline="パスキーでのログインの失敗"
    ),
    PasskeyEvent.REAUTH_SUCCESS: Label("本人確認（パスキー）", sign_in="本人確認"),
    PasskeyEvent.REAUTH_FAILURE: Label("本人確認の失敗（パスキー）", timeline="本人確認の失敗"),
    RequestEvent.REAUTH_SUCCESS: Label("本人確認"),
    RequestEvent.REAUTH_FAILURE: Label("本人確認の失敗"),
    RequestEvent.CHANGE_SUBMIT: Label("変更届の提出"),
    RequestEvent.CHANGE_REPLACE: Label("変更届の出し直し"),
    RequestEvent.CHANGE_STATE: Label("変更届の状態変更"),
    RequestEvent.CHANGE_APPLY: Label("変更届の反映"),
    RequestEvent.EMAIL_CODE_SENT: Label(
        "メールアドレス変更のコード送信", timeline="確認コードの送信（メールアドレスの変更）"
    ),
    RequestEvent.EMAIL_CODE_FAILURE: Label("メールアドレス変更のコードの誤り"),
    RequestEvent.EMAIL_CHANGED: Label("メールアドレスの変更", timeline="メールアドレスの変更"),
    RequestEvent.INQUIRY_SEND: Label("お問い合わせの送信"),
    RequestEvent.INQUIRY_REPLY: Label("お問い合わせへの回答"),
    RequestEvent.SERVICE_STOP: Label("利用停止"),
    RequestEvent.DOCUMENT_UPLOAD: Label("書類のアップロード"),
    StatementEvent.LIST_VIEWED: Label("ご請求明細一覧の閲覧", view="ご請求明細の一覧の表示"),
    StatementEvent.VIEWED: Label("ご請求明細の閲覧", view="ご請求明細の表示"),
    StatementEvent.DOWNLOADED: Label("ご請求明細のダウンロード", view="ご請求明細のダウンロード"),
    MemberPageEvent.PROFILE_VIEWED: Label(
        "登録情報（住所・電話・生年月日）の閲覧", view="登録情報（住所・電話番号・生年月日）の表示"
    ),
    CapitalEvent.VIEWED: Label("出資金の閲覧", view="出資金の表示"),
    CardEvent.ISSUE: Label("組合員証の発行", view="デジタル組合員証の発行（端末への保存）"),
    CardEvent.RENEW: Label("組合員証の更新", view="デジタル組合員証の更新"),
    CardEvent.RENEW_REFUSED: Label("組合員証の更新の拒否"),
    CardEvent.REVOKE: Label("組合員証の失効"),
    PushEvent.SUBSCRIBED: Label("通知の登録"),
    PushEvent.RESUBSCRIBED: Label("通知の登録の更新"),
    PushEvent.UNSUBSCRIBED: Label("通知の解除"),
    PushEvent.PREFERENCES: Label("通知の種類の変更"),
    ImportEvent.APPLIED: Label("データの取り込み"),
    ImportEvent.CHECKED: Label("取り込みファイルの確認"),
    ImportEvent.REJECTED: Label("取り込みファイルの不備"),
    ImportEvent.OVERWRITTEN: Label("窓口で記録した内容をファイルの値で上書き"),
    MailEvent.GIVE_UP: Label("メール送信の断念"),
    StaffEvent.LOGIN_SUCCESS: Label("職員ログイン成功"),
    StaffEvent.LOGIN_FAILURE: Label("職員ログイン失敗"),
    StaffEvent.LOGOUT: Label("職員ログアウト"),
    StaffEvent.SESSION_EXPIRED: Label("職員ログインの有効期限切れ"),
    StaffEvent.ACCOUNT_CREATE: Label("職員アカウントの作成"),
    StaffEvent.ACCOUNT_UPDATE: Label("職員アカウントの変更"),
    StaffEvent.SETUP_LINK_SEND: Label("職員の登録用リンク送信"),
    StaffEvent.SETUP_LINK_FAILURE: Label("職員の登録用リンクの失敗"),
    StaffEvent.PASSKEY_ADD: Label("職員パスキーの追加"),
    StaffEvent.PASSKEY_ADD_FAILURE: Label("職員パスキーの追加の失敗"),
    StaffEvent.PASSKEY_REMOVE: Label("職員パスキーの削除"),
    StaffEvent.PASSKEY_COUNTER_REGRESSION: Label("職員パスキーの不審な利用"),
    AccessLogEvent.VIEW: Label("アクセスログの閲覧"),
    AccessLogEvent.EXPORT: Label("アクセスログのCSV出力"),
    MemberEvent.SEARCH: Label("組合員の検索"),
    MemberEvent.VIEW: Label("組合員情報の閲覧"),
    MemberEvent.INITIAL_PASSWORD_ISSUE: Label("初期パスワードの発行（職員）"),
    MemberEvent.LETTER_PRINT: Label("初期パスワード案内状の印刷"),
    MemberEvent.LETTER_REFUSED: Label("初期パスワード案内状の印刷の拒否"),
    MemberEvent.UNBLOCK: Label(
        "ログイン停止の解除", timeline="ログインの一時停止の解除（生協による）"
    ),
    MemberEvent.SESSIONS_END: Label(
        "全端末のログアウト（職員）", timeline="すべての端末のログアウト（生協による）"
    ),
    MemberEvent.WITHDRAWAL: Label("脱退・払い戻し日の記録"),
    MemberEvent.CARD_REVOKE: Label("組合員証の失効（職員）"),
    ChangeEvent.PROCESS: Label("変更届を処理中に"),
    ChangeEvent.APPROVE: Label("変更届の反映（職員）"),
    ChangeEvent.RETURN: Label("変更届の差し戻し"),
    InquiryEvent.REPLY: Label("お問い合わせへの返信（職員）"),
    InquiryEvent.NOTE: Label("お問い合わせの社内メモ"),
    InquiryEvent.ASSIGN: Label("お問い合わせの担当割り当て"),
    InquiryEvent.UNASSIGN: Label("お問い合わせの担当解除"),
    NoticeEvent.CREATE: Label("お知らせの作成"),
    NoticeEvent.WITHDRAW: Label("お知らせの取り下げ"),
    ImportStaffEvent.DRY_RUN: Label("取り込みファイルの確認（職員）"),
    ImportStaffEvent.UPLOAD_REFUSED: Label("取り込みファイルの受付拒否"),
    ImportStaffEvent.APPLY: Label("データの取り込み（職員）"),
    ImportStaffEvent.APPLY_FAILED: Label("データの取り込みの失敗"),
    ImportStaffEvent.APPLY_REFUSED: Label("データの取り込みの拒否"),
    PaperStaffEvent.VIEW: Label("紙のご請求明細一覧の閲覧"),
    PaperStaffEvent.EXPORT: Label("紙のご請求明細一覧のCSV出力"),
    DocumentStaffEvent.UPLOAD_REFUSED: Label("書類のアップロードの拒否"),
    RefusalEvent.CSRF: Label("拒否：不正な送信（CSRF）"),
    RefusalEvent.AUTHZ: Label("拒否：権限のない操作"),
    RefusalEvent.RECORD: Label("拒否：見つからない・本人以外の記録"),
    RefusalEvent.RATE: Label("拒否：回数制限（短時間の操作集中）"),
}
STAFF_LABELS = {str(name): label.staff for name, label in LABELS.items()}
HISTORY_LABELS = {str(name): label.timeline for name, label in LABELS.items() if label.timeline}
SIGN_IN_LABELS = {str(name): label.sign_in for name, label in LABELS.items() if label.sign_in}
VIEW_LABELS = {str(name): label.view for name, label in LABELS.items() if label.view}
