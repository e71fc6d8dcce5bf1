"""thematic files: the joint review of a recurring problem by the mediator and one respondent,
with its signed messages (commitments with due dates, progress reports on them), its linked
cases, and its own data key; receipts, inbox events and documents are about a case or a
thematic file.

Nothing that existed changes meaning: every receipt, inbox event and document is a case's, so the new
columns are empty and the check that exactly one of the two is set holds for all of them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.storage.types import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ABOUT_ONE = "(case_id IS NULL) <> (thematic_file_id IS NULL)"
_UUID = sa.String(length=36)
_ID = sa.String(length=63)


def upgrade() -> None:
    op.create_table('thematic_files',
    sa.Column('id', _UUID, nullable=False),
    sa.Column('mediator_id', _ID, nullable=False),
    sa.Column('respondent_id', _ID, nullable=False),
    sa.Column('mediator_unit', _ID, nullable=False),
    sa.Column('respondent_unit', _ID, nullable=False),
    sa.Column('opened_by', _ID, nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('narrative_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('project_name', sa.String(length=200), nullable=False),
    sa.Column('project_city', sa.String(length=100), nullable=False),
    sa.Column('project_region', sa.String(length=100), nullable=False),
    sa.Column('opened_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('signature', sa.Text(), nullable=True),
    sa.Column('signed_body_sealed', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['mediator_id'], ['institutions.id'], name=op.f('fk_thematic_files_mediator_id_institutions')),
    sa.ForeignKeyConstraint(['respondent_id'], ['institutions.id'], name=op.f('fk_thematic_files_respondent_id_institutions')),
    sa.ForeignKeyConstraint(['opened_by'], ['institutions.id'], name=op.f('fk_thematic_files_opened_by_institutions')),
    sa.ForeignKeyConstraint(['mediator_unit'], ['units.id'], name=op.f('fk_thematic_files_mediator_unit_units')),
    sa.ForeignKeyConstraint(['respondent_unit'], ['units.id'], name=op.f('fk_thematic_files_respondent_unit_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thematic_files'))
    )
    with op.batch_alter_table('thematic_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thematic_files_mediator_unit'), ['mediator_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_thematic_files_respondent_unit'), ['respondent_unit'], unique=False)
        batch_op.create_index('ix_thematic_files_mediator_opened', ['mediator_id', 'opened_at', 'id'], unique=False)
        batch_op.create_index('ix_thematic_files_respondent_opened', ['respondent_id', 'opened_at', 'id'], unique=False)

    op.create_table('thematic_file_keys',
    sa.Column('thematic_file_id', _UUID, nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=True),
    sa.Column('wrapped', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['thematic_file_id'], ['thematic_files.id'], name=op.f('fk_thematic_file_keys_thematic_file_id_thematic_files')),
    sa.PrimaryKeyConstraint('thematic_file_id', name=op.f('pk_thematic_file_keys'))
    )

    op.create_table('thematic_messages',
    sa.Column('id', _UUID, nullable=False),
    sa.Column('thematic_file_id', _UUID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('sender_id', _ID, nullable=False),
    sa.Column('sender_unit', _ID, nullable=False),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('due_date', UTCDateTime(timezone=True), nullable=True),
    sa.Column('commitment_id', _UUID, nullable=True),
    sa.Column('fulfils', sa.Boolean(), nullable=True),
    sa.Column('fulfilled_by', _UUID, nullable=True),
    sa.Column('status_before', sa.String(length=30), nullable=False),
    sa.Column('status_after', sa.String(length=30), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.Text(), nullable=True),
    sa.Column('signed_body_sealed', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['thematic_file_id'], ['thematic_files.id'], name=op.f('fk_thematic_messages_thematic_file_id_thematic_files')),
    sa.ForeignKeyConstraint(['sender_id'], ['institutions.id'], name=op.f('fk_thematic_messages_sender_id_institutions')),
    sa.ForeignKeyConstraint(['sender_unit'], ['units.id'], name=op.f('fk_thematic_messages_sender_unit_units')),
    sa.ForeignKeyConstraint(['commitment_id'], ['thematic_messages.id'], name=op.f('fk_thematic_messages_commitment_id_thematic_messages')),
    sa.ForeignKeyConstraint(['fulfilled_by'], ['thematic_messages.id'], name=op.f('fk_thematic_messages_fulfilled_by_thematic_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thematic_messages')),
    sa.UniqueConstraint('thematic_file_id', 'position', name='uq_thematic_messages_file_position')
    )
    with op.batch_alter_table('thematic_messages', schema=None) as batch_op:
        batch_op.create_index('ix_thematic_messages_due_date', ['due_date'], unique=False)

    op.create_table('thematic_links',
    sa.Column('thematic_file_id', _UUID, nullable=False),
    sa.Column('case_id', _UUID, nullable=False),
    sa.Column('linked_by', _ID, nullable=False),
    sa.Column('linked_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thematic_file_id'], ['thematic_files.id'], name=op.f('fk_thematic_links_thematic_file_id_thematic_files')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_thematic_links_case_id_cases')),
    sa.ForeignKeyConstraint(['linked_by'], ['units.id'], name=op.f('fk_thematic_links_linked_by_units')),
    sa.PrimaryKeyConstraint('thematic_file_id', 'case_id', name=op.f('pk_thematic_links'))
    )
    with op.batch_alter_table('thematic_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thematic_links_case_id'), ['case_id'], unique=False)

    _about_a_case_or_a_file('receipts')
    _about_a_case_or_a_file('documents')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_thematic_file_created', ['thematic_file_id', 'created_at', 'id'], unique=False)
    _about_a_case_or_a_file('inbox_events', thematic_message_id='thematic_messages')


def _about_a_case_or_a_file(table: str, **references: str) -> None:
    """`case_id` optional, a `thematic_file_id` (and other references) beside it, exactly one set."""
    references = {'thematic_file_id': 'thematic_files', **references}
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=_UUID, nullable=True)
        for column, referred in references.items():
            batch_op.add_column(sa.Column(column, _UUID, nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_{column}_{referred}'), referred, [column], ['id'])
        batch_op.create_check_constraint(op.f(f'ck_{table}_about_one'), _ABOUT_ONE)


def downgrade() -> None:
    """Thematic files go, with the receipts, inbox events and documents about them."""
    op.execute("DELETE FROM inbox_events WHERE case_id IS NULL")
    op.execute("DELETE FROM receipts WHERE case_id IS NULL")
    op.execute("DELETE FROM documents WHERE case_id IS NULL")
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_thematic_file_created')
    for table, extra in (('inbox_events', ('thematic_message_id',)), ('receipts', ()), ('documents', ())):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_about_one'), type_='check')
            for column in ('thematic_file_id', *extra):
                referred = column.removesuffix('_id') + 's'
                batch_op.drop_constraint(batch_op.f(f'fk_{table}_{column}_{referred}'), type_='foreignkey')
                batch_op.drop_column(column)
            batch_op.alter_column('case_id', existing_type=_UUID, nullable=False)
    op.drop_table('thematic_links')
    op.drop_table('thematic_messages')
    op.drop_table('thematic_file_keys')
    op.drop_table('thematic_files')
