"""The whole FAQ of the co-op is answerable from /help, in its own words."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from tests.helpers import page

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_b633c6be74400b34.txt"
HELP_PAGES = ("/help", "/help/environment", "/help/security", "/help/forms")
# The co-op's FAQ (shared/seeds), question by question, each with a word its answer must give.
QUESTIONS = {
    "マイページにログインできない場合はどうすればよいですか？": "パスワードが間違っていないか",
    "メールアドレスを忘れた場合はどうすればよいですか？": "ご本人であることを確認",
    "パスワードを忘れた場合はどうすればよいですか？": "パスワードリセット",
    "初期パスワードが分かりません。": "新しい初期パスワードをお知らせします",
    "登録完了メールが届きません。": "@Gmypage.jp",
    "誰でも利用できるのですか？": "現職の方・退職された方",
    "費用はいくらかかりますか？": "無料",
    "マイページではどのような情報が確認できるのか詳しく知りたいです。": "出資金の情報",
    "携帯電話（フィーチャーフォン）しか持っていませんが、マイページを使うことができますか？": (
        "メールの送受信"
    ),
    "いつから利用できますか？": "翌月のご請求分から",
    "新規で学校生協に加入申し込みをした場合、いつからマイページが利用できますか？": "5営業日",
    "マイページで加入・脱退手続きはできますか？": "0120-03-5318",
    "勤務先が異動になりました。個人情報変更画面では入力はできますか？": "連絡・お問い合わせ",
    "「マイページ」を利用中ですが、改姓しました。手続きはどうしたら良いですか？": "3営業日後",
    "年度末退職に伴って学校生協に脱退届を提出しました。いつまでマイページを利用できますか？": (
        "7月末に出資金をお返しします"
    ),
    "マイページ利用を中止するには、どうすればよいですか？": "サービス停止の手続き",
    "推奨環境や、対応するブラウザーについて知りたい場合はどうすればよいですか？": (
        "バージョン102以上"
    ),
    "個人情報の保護についてはどのような対策が取られていますか？": "通信の暗号化",
}


def _seed_questions(text: str) -> list[str]:
    """Every 'Q：… A：' of the FAQ, its line breaks and spaces removed."""
    questions = [re.sub(r"\s+", "", q) for q in re.findall(r"Q：(.*?)A：", text, flags=re.S)]
    # In our own wording (README "Wording"): the FAQ writes ブラウザ, the portal ブラウザー.
    return [re.sub("ブラウザ(?!ー)", "ブラウザー", q) for q in questions]


def test_the_list_is_the_faqs_own() -> None:
    """The questions above are the seed's, word for word (when shared/ is beside the repo)."""
    if not SEED.exists():
        return  # a checkout without shared/: the list above stands on its own
    assert _seed_questions(SEED.read_text(encoding="utf-8")) == [
        re.sub(r"\s+", "", q) for q in QUESTIONS
    ]


async def test_every_faq_question_is_answered_on_a_help_page(client) -> None:
    pages = {}
    for path in HELP_PAGES:
        status, html = await page(client, path)
        assert status == 200
        pages[path] = unescape(html)
    for question, answer in QUESTIONS.items():
        found = [path for path, html in pages.items() if f">{question}</h2>" in html]
        assert found, f"no help page answers {question}"
        section = pages[found[0]].split(f">{question}</h2>", 1)[1].split("<h2", 1)[0]
        assert answer in section, (question, answer)


async def test_what_the_card_is_for(client) -> None:
    """The card is for the co-op's designated and partner shops (指定店・提携店)."""
    _, html = await page(client, "/help")
    assert "指定店・提携店" in html
