"""Kept bodies keep no credential: JSON string fields with a credential-like name are masked, and nothing else."""

from __future__ import annotations

from addons.inspection import mask_fields


def test_credential_like_string_fields_are_masked() -> None:
    body = ('{"token": "eyJhbGciOiJIUzI1NiJ9abc", "Session-Key":"abcdefghijk", "api_key": "sk-short1",'
            ' "conversation_token" : "abcdefghijklmnop\\"qrs"}')
    assert mask_fields(body) == ('{"token": "eyJh***(len=23)", "Session-Key":"abcd***(len=11)", '
                                 '"api_key": "sk-s***(len=9)", "conversation_token" : "abcd***(len=21)"}')


def test_other_fields_and_values_that_mention_a_mark_stay() -> None:
    body = ('data: {"usage":{"prompt_tokens":33,"completion_tokens_details":{"reasoning_tokens":0}},'
            '"content":"my token is not a field","x-stainless-key":"abcdefghij","name":"abcdefghijkl",'
            '"key":"short"}\n\n')
    assert mask_fields(body) == body


def test_every_occurrence_in_a_long_stream() -> None:
    event = 'data: {"delta":"x","token":"eyJ0eXAiOiJKV1QifQ"}\n\n'
    assert mask_fields(event * 50) == 'data: {"delta":"x","token":"eyJ0***(len=18)"}\n\n' * 50
