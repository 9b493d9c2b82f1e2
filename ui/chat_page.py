"""The Gradio chat page: a streaming chat, recommendation cards with feedback buttons, and a side
panel with the visitor choice, hard filters and "start over".

Layout and wiring only; the behaviour is :class:`ui.chat_logic.ChatController`. The session id
lives in the visitor's browser (``gr.BrowserState``), so a reload continues the conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from bot.chat_agent import ServedRuntime
from bot.settings import Settings
from ui.cards import FEEDBACK_LABELS
from ui.chat_logic import KNOWN_USER, NEW_VISITOR, ChatController, ChatView, Filters, empty_store

CSS_PATH = Path(__file__).resolve().parent / "chat_page.css"


def page_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def catalog_facets(runtime: ServedRuntime) -> tuple[list[str], tuple[int, int]]:
    """All genres and the (min, max) year of the catalog, for the filter controls."""
    genres: set[str] = set()
    years: list[int] = []
    for item in runtime.dataset.catalog:
        genres.update(g for g in item.genres if g and not g.startswith("("))  # "(no genres listed)"
        if item.year:
            years.append(item.year)
    return sorted(genres), ((min(years), max(years)) if years else (1900, 2030))


def build_chat_page(settings: Settings, runtime: ServedRuntime) -> gr.Blocks:
    """The page, wired to ``runtime.agent``."""
    controller = ChatController(runtime.agent, settings.n_recommendations)
    genres, (year_lo, year_hi) = catalog_facets(runtime)
    n = settings.n_recommendations

    with gr.Blocks(title="recbot", fill_width=True) as page:
        store = gr.BrowserState(empty_store(), storage_key="recbot_session")
        recs_state = gr.State([])
        turn_ids = gr.State({})

        with gr.Sidebar(open=False, label="Preferences", elem_id="recbot-sidebar"):
            visitor = gr.Radio(
                [NEW_VISITOR, KNOWN_USER], value=NEW_VISITOR, label="Who are you?", elem_id="recbot-visitor"
            )
            user_id = gr.Number(
                label="MovieLens user id", precision=0, minimum=1, visible=False, elem_id="recbot-user-id"
            )
            genre_box = gr.CheckboxGroup(genres, label="Only these genres", elem_id="recbot-genres")
            year_min = gr.Slider(year_lo, year_hi, value=year_lo, step=1, label="From year")
            year_max = gr.Slider(year_lo, year_hi, value=year_hi, step=1, label="To year")
            start_over = gr.Button("Start over", variant="stop", elem_id="recbot-start-over")

        gr.Markdown("## recbot — tell me what you feel like watching", elem_id="recbot-heading")
        chatbot = gr.Chatbot(
            elem_id="recbot-chat",
            height=380,
            label="Chat",
            layout="bubble",
            placeholder="Say what you like, e.g. “something like Alien but funnier”.",
        )
        with gr.Row(equal_height=True, elem_id="recbot-input-row"):
            box = gr.Textbox(
                show_label=False,
                placeholder="Type a message…",
                scale=5,
                min_width=160,
                elem_id="recbot-input",
                max_length=settings.max_message_chars,
                submit_btn=False,
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=70, elem_id="recbot-send")
        status = gr.Markdown("", elem_id="recbot-status")

        slots: list[tuple[gr.Group, gr.HTML, gr.HTML]] = []
        buttons: list[tuple[int, str, gr.Button]] = []
        with gr.Column(elem_id="recbot-cards"):
            for i in range(n):
                with gr.Group(
                    visible=False, elem_classes=["recbot-card"], elem_id=f"recbot-card-{i}"
                ) as group:
                    body = gr.HTML("", elem_classes=["recbot-card-body"])
                    with gr.Accordion("Why this?", open=False, elem_classes=["recbot-why"]):
                        why = gr.HTML("")
                    with gr.Row(elem_classes=["recbot-feedback"]):
                        for kind, label in FEEDBACK_LABELS.items():
                            buttons.append(
                                (
                                    i,
                                    kind,
                                    gr.Button(
                                        label, size="sm", min_width=60, elem_classes=[f"recbot-fb-{kind}"]
                                    ),
                                )
                            )
                slots.append((group, body, why))

        card_outputs: list[Any] = [c for slot in slots for c in slot]
        view_outputs = [chatbot, store, recs_state, turn_ids, status, *card_outputs]

        def render(view: ChatView) -> list[Any]:
            cards: list[Any] = []
            for card in view.cards:
                cards += [gr.Group(visible=card.visible), card.body, card.why]
            return [view.history, view.store, view.recs, view.turn_ids, view.status, *cards]

        def on_send(
            message: str,
            history: list[dict[str, Any]],
            st: dict[str, Any],
            tids: dict[str, int],
            who: str,
            uid: float | None,
            gsel: list[str],
            ymin: float,
            ymax: float,
        ):  # type: ignore[no-untyped-def]
            filters = Filters(list(gsel or []), int(ymin), int(ymax), (year_lo, year_hi))
            for view in controller.respond(message, history, st, tids, who, uid, filters):
                yield ["", *render(view)]

        send_inputs = [box, chatbot, store, turn_ids, visitor, user_id, genre_box, year_min, year_max]
        for trigger in (send.click, box.submit):
            trigger(on_send, send_inputs, [box, *view_outputs], show_progress="hidden")

        def on_card(slot: int, kind: str):  # type: ignore[no-untyped-def]
            def handler(st: dict[str, Any], recs: list[dict[str, Any]]) -> list[Any]:
                new_recs, cards, message = controller.card_feedback(slot, kind, st, recs)
                view = ChatView([], st, new_recs, cards, {}, message)
                return render(view)[2:3] + [message] + render(view)[5:]

            return handler

        for slot, kind, button in buttons:
            button.click(
                on_card(slot, kind),
                [store, recs_state],
                [recs_state, status, *card_outputs],
                show_progress="hidden",
            )

        def on_like(st: dict[str, Any], tids: dict[str, int], data: gr.LikeData) -> str:
            return controller.reply_feedback(st, tids, data.index, data.liked)

        chatbot.like(on_like, [store, turn_ids], [status])

        def on_start_over() -> list[Any]:
            return render(controller.blank(empty_store(), "Started over. What are you in the mood for?"))

        start_over.click(on_start_over, None, view_outputs)

        def on_visitor(who: str) -> list[Any]:
            view = controller.blank(
                empty_store(),
                "New conversation."
                if who == NEW_VISITOR
                else "Enter your MovieLens user id, then say hello.",
            )
            return [gr.Number(visible=who == KNOWN_USER), *render(view)]

        # .input (not .change): only the visitor's own edits start a new conversation, not the
        # values the page sets when it restores a session after a reload.
        visitor.input(on_visitor, [visitor], [user_id, *view_outputs])
        user_id.input(lambda: render(controller.blank(empty_store())), None, view_outputs)

        def on_load(st: dict[str, Any]) -> list[Any]:
            view = controller.restore(st)
            uid = view.store.get("user_id")
            who = gr.Radio(value=KNOWN_USER if uid else NEW_VISITOR)
            return [*render(view), who, gr.Number(value=uid, visible=bool(uid))]

        page.load(on_load, [store], [*view_outputs, visitor, user_id])
    return page
