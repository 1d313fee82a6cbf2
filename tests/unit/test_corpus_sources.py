import json

import pytest

from sleuth.corpus import open_corpus
from sleuth.errors import CorpusError


def test_txt_folder_and_jsonl(tmp_path):
    (tmp_path / "docs" / "news").mkdir(parents=True)
    (tmp_path / "docs" / "a.txt").write_text("alpha text")
    (tmp_path / "docs" / "news" / "b.md").write_text("beta text")
    corpus = open_corpus(str(tmp_path / "docs"), tmp_path)
    assert [d.id for d in corpus.documents] == ["user:a.txt", "user:news/b.md"]
    assert corpus.info().domains == {"news": 1, "user": 1}
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"body": t}) for t in ["one", "two"]))
    assert len(open_corpus(str(rows), tmp_path, text_field="body").documents) == 2
    with pytest.raises(CorpusError, match="no 'text' field"):
        open_corpus(str(rows), tmp_path)


def test_missing_and_empty_corpora_fail_clearly(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        open_corpus(str(tmp_path / "nope"), tmp_path)
    (tmp_path / "empty.txt").write_text("   \n")
    with pytest.raises(CorpusError, match="empty"):
        open_corpus(str(tmp_path / "empty.txt"), tmp_path)
    (tmp_path / "blank").mkdir()
    with pytest.raises(CorpusError, match="no .txt"):
        open_corpus(str(tmp_path / "blank"), tmp_path)


def test_checksum_changes_with_content(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    first = open_corpus(str(tmp_path / "a.txt"), tmp_path).checksum
    assert first == open_corpus(str(tmp_path / "a.txt"), tmp_path).checksum
    (tmp_path / "a.txt").write_text("two")
    assert open_corpus(str(tmp_path / "a.txt"), tmp_path).checksum != first


@pytest.mark.parametrize("line, says", [("[1, 2]", "line 2 is a JSON list"), ("7", "line 2 is a JSON int"),
                                        ('{"text": 3}', "line 2 has no 'text' field")])
def test_a_jsonl_line_that_is_not_an_object_of_text_is_one_line(tmp_path, line, says):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "fine"}\n' + line + "\n")
    with pytest.raises(CorpusError, match=says):
        open_corpus(str(rows), tmp_path)
