"""API v1: every path under /v1."""

from fastapi import APIRouter

from gateway.api.v1 import cases, documents, inbox, keys, ledger, me, receipts, thematic

router = APIRouter(prefix="/v1")
router.include_router(me.router)
router.include_router(cases.router)
router.include_router(documents.cases_router)
router.include_router(thematic.router)
router.include_router(documents.thematic_files_router)
router.include_router(inbox.router)
router.include_router(receipts.router)
router.include_router(ledger.router)
router.include_router(keys.router)
router.include_router(keys.institutions_router)
