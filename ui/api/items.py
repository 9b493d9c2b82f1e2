"""Look up one catalog item (the widget and third parties show details from it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from ui.api.deps import RuntimeDep
from ui.api.schemas import PARAM_ERRORS, ErrorOut, ItemOut

router = APIRouter(tags=["items"])


@router.get("/items/{item_id}", response_model=ItemOut, responses={404: {"model": ErrorOut}, **PARAM_ERRORS})
async def read_item(
    item_id: Annotated[int, Path(description="The catalog's own id")], runtime: RuntimeDep
) -> ItemOut:
    dataset = await run_in_threadpool(lambda: runtime.dataset)
    item = dataset.catalog.get(item_id)  # UnknownItemError -> 404
    return ItemOut(
        item_id=item.item_id,
        title=item.title,
        display_title=item.display_title,
        year=item.year,
        genres=list(item.genres),
        tags=list(item.tags),
        text=item.text,
        links=dict(item.links),
    )
