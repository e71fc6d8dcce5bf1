"""free text sealed per case: a case's title, summary and requested action, and each message's body
and signed body, are sealed with the case's data key like the complainant's fields (free text often
names the citizen), so that erasure destroys them too. Existing rows are sealed here with the master
key `gateway migrate` hands over; those of a case already erased are erased with it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 03:45:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.security.encryption import seal, unwrap

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('narrative_sealed', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('signed_body_sealed', sa.LargeBinary(), nullable=True))
    seal_existing_rows()
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('title')
        batch_op.drop_column('summary')
        batch_op.drop_column('requested_action')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('body')
        batch_op.drop_column('signed_body')


def seal_existing_rows() -> None:
    connection = op.get_bind()
    cases = connection.execute(sa.text(
        "SELECT c.id, c.title, c.summary, c.requested_action, k.wrapped, k.master_key_id "
        "FROM cases c LEFT JOIN case_keys k ON k.case_id = c.id"
    )).all()
    if not cases:
        return
    master = op.get_context().config.attributes.get("master_key")
    if master is None:
        raise RuntimeError("cases exist: run `gateway migrate` with the master key (GATEWAY_MASTER_KEY or its file) to seal them")
    for case_id, title, summary, requested_action, wrapped, master_key_id in cases:
        if wrapped is not None and master_key_id != master.id:
            raise RuntimeError(f"case {case_id}'s data key is wrapped by master key {master_key_id}: migrate with that key")
        key = unwrap(master, wrapped, case_id) if wrapped is not None else None  # None: erased, so is its text
        narrative = json.dumps({"title": title, "summary": summary, "requested_action": requested_action}, ensure_ascii=False)
        connection.execute(
            sa.text("UPDATE cases SET narrative_sealed = :sealed WHERE id = :id"),
            {"id": case_id, "sealed": seal(key, narrative.encode(), f"case:{case_id}:narrative") if key else None},
        )
        messages = connection.execute(
            sa.text("SELECT id, body, signed_body FROM messages WHERE case_id = :id"), {"id": case_id}
        ).all()
        for message_id, body, signed_body in messages:
            connection.execute(
                sa.text("UPDATE messages SET body_sealed = :body, signed_body_sealed = :signed WHERE id = :id"),
                {
                    "id": message_id,
                    "body": seal(key, body.encode(), f"case:{case_id}:message:{message_id}:body") if key else None,
                    "signed": seal(key, signed_body.encode(), f"case:{case_id}:message:{message_id}:signed_body")
                    if key and signed_body else None,
                },
            )


def downgrade() -> None:
    # Downgrading cannot restore the text without decrypting it: refuse rather than lose it.
    raise RuntimeError("0007 cannot be downgraded: free text is sealed")
