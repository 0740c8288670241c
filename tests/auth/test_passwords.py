"""Password rules: length, NFKC, common passwords from zxcvbn's list, personal data."""

from __future__ import annotations

import pytest

from server.auth.passwords import PasswordRejected, check_new_password, common_passwords


def check(password: str, confirm: str | None = None) -> str:
    return check_new_password(
        password,
        password if confirm is None else confirm,
        member_no="00012345",
        email="hanako.yamada@example.jp",
        coop_name="群馬県学校生協",
    )


def reason(password: str, confirm: str | None = None) -> str:
    with pytest.raises(PasswordRejected) as caught:
        check(password, confirm)
    return caught.value.message


def test_the_list_is_zxcvbns_and_large() -> None:
    assert len(common_passwords()) > 25_000
    assert "password" in common_passwords()


def test_good_passwords_pass_japanese_included() -> None:
    assert check("correct-horse-2026") == "correct-horse-2026"
    assert check("赤城山のふもとで2026") == "赤城山のふもとで2026"
    assert check("x" * 60 + "yz") == "x" * 60 + "yz"


def test_full_width_is_normalised() -> None:
    assert check("ｃｏｒｒｅｃｔ－ｈｏｒｓｅ") == "correct-horse"


def test_length() -> None:
    assert "8文字以上" in reason("short1!")
    assert "128文字以内" in reason("a1b2c3d4" * 17)
    assert check("a1b2c3d4" * 16)


def test_common_and_breached_passwords() -> None:
    common_ones = ("password", "PASSWORD", "12345678", "iloveyou", "sunshine2026")
    common_ones += ("ｑｗｅｒｔｙ１２３",)  # full width is the same password
    for common in common_ones:
        assert "よく使われている" in reason(common), common
    assert "よく使われている" in reason("aaaaaaaaaaa")


def test_personal_data() -> None:
    assert "組合員番号" in reason("my-00012345-pass")
    assert "組合員番号" in reason("xx12345yyzz")
    assert "メールアドレス" in reason("Hanako.Yamada-2026")
    assert "生協の名前" in reason("群馬県学校生協が好き")


def test_confirmation_must_match() -> None:
    assert "一致しません" in reason("correct-horse-2026", "correct-horse-2027")
    assert "入力してください" in reason("", "")
