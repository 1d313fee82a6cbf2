"""Untrusted text (a job's question, corpus windows quoted in tool summaries, the LLM's words, errors) reaches
report.html as text, never as markup: planted <script>, <img onerror> and </table> show literally in headless
Chromium, no script runs and the page keeps its structure. report.md keeps the text as it was."""

import sys
from pathlib import Path

from sleuth.audit.report import write_reports
from sleuth.audit.runlog import Finding, Plot, Resolved, RunLog, TaskRecord, ToolCall

sys.path.insert(0, str(Path(__file__).parents[1]))
from page_check import render  # noqa: E402

SCRIPT = '<script>document.title="PWNED"</script>'
IMAGE = "<img src=x onerror=\"document.title='PWNED'\">"
CLOSE = "</table></div>"
PAYLOAD = f"{SCRIPT} {IMAGE} {CLOSE} fires on <b"


def hostile_log() -> RunLog:
    finding = Finding(component="blocks.3.mlp.hook_post[7]", short="L3N7", text=f"fires on words {PAYLOAD}",
                      status="rejected", scores=[{"scorer": "detection", "status": "failed", "reason": PAYLOAD}],
                      rule={"token_in": [SCRIPT]}, evidence_ids=["ev1"], reason=PAYLOAD)
    task = TaskRecord(id="t1", kind="question", title=f"what does L3N7 do? {PAYLOAD}", status="done",
                      tool_calls=[ToolCall(tool="top_activations", component="L3N7", evidence_id="ev1",
                                           summary=f"top window: 'x = 1 {PAYLOAD}'")],
                      evidence_ids=["ev1"], findings=[finding], answer=f"It fires on {PAYLOAD}",
                      notes=[PAYLOAD], errors=[PAYLOAD],
                      plots=[Plot(kind="bars", title=PAYLOAD, labels=[SCRIPT, IMAGE], values=[0.5, -0.2])])
    resolved = Resolved(model=PAYLOAD, model_source=PAYLOAD, arch="llama", corpus=PAYLOAD, llm_model=PAYLOAD)
    return RunLog(fingerprint="f", spec={"model": {"model": PAYLOAD}}, resolved=resolved, tasks=[task])


def test_report_html_escapes_every_untrusted_string(tmp_path):
    write_reports(tmp_path, hostile_log())
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    _, dom, _ = render(tmp_path / "report.html", tmp_path)
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("sleuth audit: ") and "&lt;script&gt;" in title, "a planted script ran"
    assert "<script" not in dom and "<img" not in dom
    body = dom.split("<body", 1)[1]
    assert body.count("&lt;script&gt;document.title=\"PWNED\"&lt;/script&gt;") >= 8  # shown literally, everywhere
    assert dom.count("<table") == dom.count("</table>") >= 3  # a planted </table> closed nothing
    assert 'id="ev-ev1"' in dom and 'id="task-t1"' in dom


def test_report_md_keeps_the_text():
    from sleuth.audit.report import _env

    assert _env().autoescape("report.html.j2") and not _env().autoescape("report.md.j2")
