"""documents: attached to cases, their bytes sealed in the blob store, their Content-Disposition
(which names the file) sealed in the database; messages may refer to them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('sender_id', sa.String(length=63), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=60), nullable=False),
    sa.Column('disposition_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.Text(), nullable=True),
    sa.Column('erased_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['sender_id'], ['institutions.id'], name=op.f('fk_documents_sender_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_index('ix_documents_case_created', 'documents', ['case_id', 'created_at', 'id'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_ids', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('document_ids')
    op.drop_index('ix_documents_case_created', table_name='documents')
    op.drop_table('documents')
