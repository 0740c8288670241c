"""The outbox: work written in the transaction that asks for it, done later by the sender.

Mail, push notices and staff imports wait here as rows on a channel; the
sender (inside `mypage serve`, or alone as `mypage worker`) claims what is
due and hands each row to its channel, which the entry point passed in.
"""
