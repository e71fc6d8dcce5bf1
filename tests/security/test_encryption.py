"""Sealing personal data with a per-case key, wrapped by a master key; tampering fails closed."""

from __future__ import annotations

import pytest

from gateway.security.encryption import DecryptionFailed, MasterKey, new_data_key, open_sealed, seal, unwrap, wrap


def test_values_round_trip_and_fail_closed_on_any_change():
    key = new_data_key()
    text = "فاطمة الزهراء بنعلي – CIN BE123456".encode()
    sealed = seal(key, text, "case:a:complainant")
    assert open_sealed(key, sealed, "case:a:complainant") == text and text not in sealed
    assert seal(key, text, "case:a:complainant") != sealed  # fresh nonce each time
    for tampered_key, value, context in [
        (new_data_key(), sealed, "case:a:complainant"),  # wrong key
        (key, sealed, "case:b:complainant"),  # moved to another case
        (key, sealed[:-1] + bytes([sealed[-1] ^ 1]), "case:a:complainant"),  # a flipped bit
        (key, sealed[:20], "case:a:complainant"),  # truncated
        (key, b"plain text", "case:a:complainant"),
    ]:
        with pytest.raises(DecryptionFailed):
            open_sealed(tampered_key, value, context)


def test_data_keys_are_wrapped_per_case_and_rewrapped_on_rotation():
    old, new = MasterKey.from_text(MasterKey.generate_text()), MasterKey.from_text(MasterKey.generate_text())
    data_key = new_data_key()
    wrapped = wrap(old, data_key, "case-1")
    assert unwrap(old, wrapped, "case-1") == data_key
    with pytest.raises(DecryptionFailed):
        unwrap(new, wrapped, "case-1")
    with pytest.raises(DecryptionFailed):
        unwrap(old, wrapped, "case-2")
    rewrapped = wrap(new, unwrap(old, wrapped, "case-1"), "case-1")  # rotation: re-wrap, never re-encrypt data
    assert unwrap(new, rewrapped, "case-1") == data_key and old.id != new.id


def test_master_keys_must_be_32_bytes():
    with pytest.raises(ValueError):
        MasterKey(b"short")
    with pytest.raises(ValueError):
        MasterKey.from_text("not base64!")
