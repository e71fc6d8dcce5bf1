"""ledger: append-only entries, Merkle nodes and signed checkpoints

The database itself refuses UPDATE and DELETE on the ledger tables (and TRUNCATE on
PostgreSQL), whatever the application does: triggers on both engines.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:37:10.133815
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types
from gateway.storage.append_only import append_only

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('size', name=op.f('pk_ledger_checkpoints'))
    )
    op.create_table('ledger_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=40), nullable=True),
    sa.Column('sender_id', sa.String(length=63), nullable=False),
    sa.Column('recipient_id', sa.String(length=63), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('resource', sa.String(length=300), nullable=False),
    sa.Column('payload_digest', sa.String(length=60), nullable=False),
    sa.Column('signature_digest', sa.String(length=60), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('leaf_hash', name=op.f('uq_ledger_entries_leaf_hash'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_at', ['at'], unique=False)
        batch_op.create_index('ix_ledger_entries_case', ['case_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_sender_id'), ['sender_id'], unique=False)

    op.create_table('ledger_nodes',
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_ledger_nodes'))
    )


    for table in LEDGER_TABLES:
        for statement in append_only(op.get_bind().dialect.name, table):
            op.execute(statement)
    op.execute("INSERT INTO sequences (name, value) VALUES ('ledger', 0)")


LEDGER_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")


def downgrade() -> None:
    op.execute("DELETE FROM sequences WHERE name = 'ledger'")
    op.drop_table('ledger_nodes')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_sender_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_recipient_id'))
        batch_op.drop_index('ix_ledger_entries_case')
        batch_op.drop_index('ix_ledger_entries_at')

    op.drop_table('ledger_entries')
    op.drop_table('ledger_checkpoints')
