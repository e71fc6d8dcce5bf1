"""The S3 blob store against moto: publication is atomic, reads seek like a file with few requests,
and the gateway's sealed documents decrypt from it by range (and refuse a changed byte)."""

from __future__ import annotations

import io
import os
import random
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gateway.security.encryption import DecryptionFailed, new_data_key
from gateway.security.streaming import SEGMENT_BYTES, TAG_BYTES, SegmentEncryptor, decrypt_range
from gateway.storage.s3 import READ_AHEAD, S3BlobStore

BUCKET = "documents"
PREFIX = "blobs/"


@pytest.fixture
def client(monkeypatch):
    for variable, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(variable, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "staging"


@pytest.fixture
def store(client, staging: Path) -> S3BlobStore:
    staging.mkdir()
    return S3BlobStore(BUCKET, PREFIX, client=client, staging_dir=staging)


def keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def put(store: S3BlobStore, data: bytes, chunk: int = 100_000) -> str:
    name, staged = str(uuid.uuid4()), store.stage()
    try:
        for start in range(0, len(data), chunk):
            staged.write(data[start:start + chunk])
        staged.publish(name)
    finally:
        staged.discard()
    return name


def test_a_staged_blob_is_invisible_until_published_then_reads_back_exactly(store, client, staging):
    data, name, staged = os.urandom(300_000), str(uuid.uuid4()), store.stage()
    staged.write(data[:100_000])
    staged.write(data[100_000:])
    assert len(list(staging.iterdir())) == 1
    assert keys(client) == []
    with pytest.raises(FileNotFoundError):
        store.open(name)
    staged.publish(name)
    assert list(staging.iterdir()) == []
    staged.discard()
    staged.discard()
    assert keys(client) == [PREFIX + name]
    with store.open(name) as source:
        assert source.read() == data


def test_discard_before_publish_leaves_no_object_and_no_temporary_file(store, client, staging):
    staged = store.stage()
    staged.write(os.urandom(50_000))
    assert len(list(staging.iterdir())) == 1
    staged.discard()
    staged.discard()
    assert list(staging.iterdir()) == []
    assert keys(client) == []


def test_a_failed_upload_publishes_nothing_and_discard_still_cleans_up(client, staging):
    staging.mkdir()
    staged = S3BlobStore("no-such-bucket", client=client, staging_dir=staging).stage()
    staged.write(b"sealed bytes")
    with pytest.raises(Exception, match="NoSuchBucket"):
        staged.publish(str(uuid.uuid4()))
    staged.discard()
    assert list(staging.iterdir()) == []


def test_seek_tell_and_read_match_bytesio(store):
    data = os.urandom(3 * READ_AHEAD + 12_345)
    name, expected, rng = put(store, data), io.BytesIO(data), random.Random(7)
    with store.open(name) as source:
        for _ in range(300):
            whence = rng.choice([os.SEEK_SET, os.SEEK_END, os.SEEK_CUR])
            offset = {os.SEEK_SET: rng.randrange(len(data) + 1000), os.SEEK_END: rng.randrange(-len(data), 1000), os.SEEK_CUR: rng.randrange(-1000, 1000)}[whence]
            if whence == os.SEEK_CUR and expected.tell() + offset < 0:
                offset = -expected.tell()
            assert source.seek(offset, whence) == expected.seek(offset, whence)
            assert source.tell() == expected.tell()
            count = rng.choice([0, 1, 17, SEGMENT_BYTES + TAG_BYTES, READ_AHEAD + 3, 2 * READ_AHEAD])
            assert source.read(count) == expected.read(count)
            assert source.tell() == expected.tell()
        source.seek(-10, os.SEEK_END)
        assert source.read() == data[-10:]
        assert source.read(5) == b""
    assert source.closed


def test_a_large_blob_is_uploaded_in_parts_and_read_with_one_request_per_window(store, client):
    data = os.urandom(9 * READ_AHEAD)  # above boto3's 8 MiB multipart threshold
    name, gets = put(store, data, chunk=1024 * 1024), []
    assert "-" in client.head_object(Bucket=BUCKET, Key=PREFIX + name)["ETag"]  # a multipart ETag: "<md5>-<parts>"
    client.meta.events.register("before-call.s3.GetObject", lambda **kwargs: gets.append(kwargs))
    with store.open(name) as source:
        chunks = iter(lambda: source.read(SEGMENT_BYTES + TAG_BYTES), b"")
        assert b"".join(chunks) == data
    assert 9 <= len(gets) <= 10
    gets.clear()
    with store.open(name) as source:
        assert source.read() == data
    assert len(gets) == 1


def test_a_reader_never_mixes_an_object_with_its_replacement(store, client):
    data = os.urandom(2 * READ_AHEAD)
    name = put(store, data)
    with store.open(name) as source:
        assert source.read(10) == data[:10]
        client.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=os.urandom(len(data)))
        source.seek(READ_AHEAD + 5)
        with pytest.raises(ClientError, match="PreconditionFailed|412"):
            source.read(10)


def seal(key: bytes, context: str, plaintext: bytes, staged) -> None:
    encryptor = SegmentEncryptor(key, context)
    staged.write(encryptor.header)
    for start in range(0, len(plaintext), 100_000):
        staged.write(encryptor.update(plaintext[start:start + 100_000]))
    staged.write(encryptor.finish())


def test_sealed_documents_decrypt_by_range_and_refuse_a_changed_byte(store, client):
    key, context, plaintext = new_data_key(), "case:c1:document:d1", os.urandom(3 * 1024 * 1024 + 777)
    name, staged = str(uuid.uuid4()), store.stage()
    try:
        seal(key, context, plaintext, staged)
        staged.publish(name)
    finally:
        staged.discard()
    size = len(plaintext)
    for start, end in [(0, size), (0, 1), (SEGMENT_BYTES - 5, SEGMENT_BYTES + 5), (READ_AHEAD - 3, 2 * READ_AHEAD + 9), (size - 100, size), (size, size)]:
        with store.open(name) as source:
            assert b"".join(decrypt_range(key, context, source, size, start, end)) == plaintext[start:end]

    stored = bytearray(client.get_object(Bucket=BUCKET, Key=PREFIX + name)["Body"].read())
    stored[2 * READ_AHEAD + 100] ^= 0x01
    client.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=bytes(stored))
    with store.open(name) as source, pytest.raises(DecryptionFailed):
        b"".join(decrypt_range(key, context, source, size))


def test_missing_names_and_invalid_names(store, client):
    name = str(uuid.uuid4())
    with pytest.raises(FileNotFoundError):
        store.open(name)
    store.delete(name)
    published = put(store, b"x")
    store.delete(published)
    store.delete(published)
    assert keys(client) == []
    for bad in ["../etc/passwd", name.upper(), name + "/x", "", f"{PREFIX}{name}"]:
        with pytest.raises(ValueError):
            store.open(bad)
        with pytest.raises(ValueError):
            store.delete(bad)
        staged = store.stage()
        with pytest.raises(ValueError):
            staged.publish(bad)
        staged.discard()
    assert keys(client) == []


# --- the gateway configured with the S3 store ------------------------------------------------------


@pytest.fixture
def s3_settings(settings, client):
    """The test gateway's settings, storing documents in the (mocked) bucket."""
    return settings.model_copy(update={"blob_s3_bucket": BUCKET, "blob_s3_prefix": PREFIX})


def test_the_gateway_keeps_documents_in_the_bucket_when_configured(s3_settings, client, test_pki):
    from fastapi.testclient import TestClient

    from gateway import samples
    from gateway.app import create_app
    from tests.api.test_documents import upload
    from tests.conftest import institution_client
    from tests.factories import case_payload

    application = create_app(s3_settings)
    with TestClient(application):
        imr = institution_client(application, test_pki, "imr")
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        photo = samples.png(400, 300)
        document = upload(imr, case_id, photo, "واجهة العمارة.png").json()
        assert keys(client) == [PREFIX + document["id"]]
        assert not list(s3_settings.blob_dir.rglob("*.part"))  # staged on disk, then removed
        assert imr.get(document["content"]).content == photo
        assert imr.get(document["content"], headers={"Range": "bytes=100-199"}).content == photo[100:200]
        assert imr.delete(f"/v1/cases/{case_id}/personal-data").status_code == 200
        assert keys(client) == []


def test_published_lists_the_blobs_under_the_prefix_only(store, client):
    names = {put(store, os.urandom(100)) for _ in range(3)}
    client.put_object(Bucket=BUCKET, Key=PREFIX + "not-a-blob", Body=b"x")
    client.put_object(Bucket=BUCKET, Key=str(uuid.uuid4()), Body=b"outside the prefix")
    listed = dict(store.published())
    assert set(listed) == names and all(modified > 0 for modified in listed.values())
