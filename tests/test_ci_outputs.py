"""The CI outputs: SARIF (validated against the official 2.1.0 schema, kept in
tests/data so no network is needed), GitHub annotations, --statistics and
--files-from."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from leaklint.finding import FileResult, Finding
from leaklint.output import Report
from leaklint.output.github import escape_data, escape_property
from leaklint.output.github import format_report as github_report
from leaklint.registry import all_rules
from tests.expectations import FIXTURES, expected, fixture_files
from tests.cli_runner import run

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
LEAKY = "import asyncio\n\n\nasync def handle(request):\n    asyncio.create_task(audit(request))\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the fixtures plus a file that cannot be parsed."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    (tmp_path / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def expected_findings():
    return sorted(
        (path.relative_to(FIXTURES.parent).as_posix(), line, code) for path in fixture_files() for line, code in expected(path)
    )


# -- SARIF ------------------------------------------------------------------------


def test_sarif_validates_against_the_schema_and_carries_every_finding(project, capsys):
    code, out, _ = run(capsys, "--output-format", "sarif", "fixtures", "broken.py")
    log = json.loads(out)

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(log)
    # The schema has teeth: a region starting on line 0 is not SARIF.
    broken = json.loads(out)
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert not validator.is_valid(broken)

    assert code == 2  # broken.py could not be checked
    (run_,) = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    found = []
    for result in run_["results"]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "warning"
        found.append((location["artifactLocation"]["uri"], location["region"]["startLine"], result["ruleId"]))
    assert sorted(found) == expected_findings()
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"


def test_sarif_regions_are_the_findings_positions(project, capsys):
    _, json_out, _ = run(capsys, "--output-format", "json", "fixtures")
    _, sarif_out, _ = run(capsys, "--output-format", "sarif", "fixtures")
    regions = [
        result["locations"][0]["physicalLocation"]["region"] for result in json.loads(sarif_out)["runs"][0]["results"]
    ]
    assert regions == [
        {"startLine": f["line"], "startColumn": f["column"], "endLine": f["end_line"], "endColumn": f["end_column"]}
        for f in json.loads(json_out)
    ]


def test_sarif_files_not_checked_are_notifications_not_results(project, capsys):
    _, out, err = run(capsys, "--output-format", "sarif", "broken.py", "missing.py")
    (invocation,) = json.loads(out)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    notifications = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n for n in invocation["toolExecutionNotifications"]
    }
    assert set(notifications) == {"broken.py", "missing.py"}
    assert notifications["missing.py"]["message"]["text"] == "no such file or directory"
    assert notifications["broken.py"]["level"] == "error"
    assert notifications["broken.py"]["message"]["text"].startswith("syntax error")
    assert json.loads(out)["runs"][0]["results"] == []
    assert "broken.py" in err  # still said on stderr for the CI log


def test_sarif_clean_run_is_successful_and_describes_every_rule(project, capsys):
    (project / "clean.py").write_text("import asyncio\n", encoding="utf-8")
    code, out, _ = run(capsys, "--output-format", "sarif", "clean.py")
    (run_,) = json.loads(out)["runs"]
    assert code == 0
    assert run_["results"] == []
    assert run_["invocations"] == [{"executionSuccessful": True}]
    driver = run_["tool"]["driver"]
    assert (driver["name"], driver["informationUri"]) == ("leaklint", "https://pypi.org/project/leaklint/")
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in all_rules()]
    for descriptor, rule in zip(driver["rules"], all_rules()):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary()
        assert descriptor["help"] == {"text": rule.documentation(), "markdown": rule.documentation()}
        what_it_does = rule.documentation().split("## What it does")[1].split("##")[0]
        assert descriptor["fullDescription"]["text"] == " ".join(what_it_does.split())


def test_sarif_uri_is_relative_to_the_working_directory_and_percent_encoded(tmp_path, monkeypatch, capsys):
    (tmp_path / "my app").mkdir()
    (tmp_path / "my app" / "main.py").write_text(LEAKY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(capsys, "--output-format", "sarif", str(tmp_path / "my app" / "main.py"))
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "my%20app/main.py", "uriBaseId": "%SRCROOT%"}


# -- GitHub annotations -------------------------------------------------------------


def test_github_annotations_one_per_finding_and_errors(project, capsys):
    (project / "leaky.py").write_text(LEAKY, encoding="utf-8")
    code, out, err = run(capsys, "--output-format", "github", "leaky.py", "broken.py")
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == (
        "::warning file=leaky.py,line=5,col=5,endLine=5,endColumn=40,title=LL101 dangling-task::"
        "the task made by asyncio.create_task is dropped: the loop keeps only a weak reference, so it may be collected before it finishes, and its failure bypasses this code"
    )  # a colon in the message is data, not a property: left as it is
    assert lines[1].startswith("::error file=broken.py::syntax error")
    assert len(lines) == 2
    assert err == ""  # the errors are annotations; nothing twice


def test_github_escapes_data_and_properties():
    finding = Finding("we,ird:name.py", 3, 1, 3, 9, "LL101", "dangling-task", "100% lost\r\nreally")
    report = Report([FileResult("we,ird:name.py", [finding])], errors=[("a,b.py", "cannot read: 50%\nbad")], base=Path("/nowhere"))
    assert github_report(report) == (
        "::warning file=we%2Cird%3Aname.py,line=3,col=1,endLine=3,endColumn=9,title=LL101 dangling-task::100%25 lost%0D%0Areally\n"
        "::error file=a%2Cb.py::cannot read: 50%25%0Abad\n"
    )
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_github_clean_run_prints_nothing(project, capsys):
    (project / "clean.py").write_text("x = 1\n", encoding="utf-8")
    assert run(capsys, "--output-format", "github", "clean.py") == (0, "", "")


# -- --statistics ----------------------------------------------------------------


def test_statistics_counts_each_rule_most_frequent_first(project, capsys):
    code, out, _ = run(capsys, "--statistics", "fixtures")
    assert code == 1
    rows = [line.split("\t") for line in out.splitlines()]
    counts = Counter(code for _, _, code in expected_findings())
    names = {rule.code: rule.name for rule in all_rules()}
    assert [(int(count), code, name) for count, code, name in rows] == sorted(
        ((count, code, names[code]) for code, count in counts.items()), key=lambda row: (-row[0], row[1])
    )
    assert rows[0][0].startswith(str(max(counts.values())))  # counts right-aligned to the widest


def test_statistics_as_json_and_when_clean(project, capsys):
    _, out, _ = run(capsys, "--statistics", "--output-format", "json", "fixtures/tasks")
    counts = Counter(code for path, _, code in expected_findings() if path.startswith("fixtures/tasks/"))
    assert json.loads(out) == [
        {"code": code, "name": name, "count": counts[code]}
        for code, name in sorted(
            [("LL101", "dangling-task"), ("LL102", "unused-task"), ("LL103", "unawaited-coroutine")],
            key=lambda rule: (-counts[rule[0]], rule[0]),  # by descending count, then code
        )
    ]
    (project / "clean.py").write_text("x = 1\n", encoding="utf-8")
    assert run(capsys, "--statistics", "clean.py") == (0, "All checks passed!\n", "")


def test_statistics_refuses_formats_it_cannot_print(project, capsys):
    code, out, err = run(capsys, "--statistics", "--output-format", "sarif", "fixtures")
    assert (code, out) == (2, "")
    assert err == "leaklint: error: --statistics prints text or json, not sarif\n"


# -- --files-from --------------------------------------------------------------------


def test_files_from_a_file_checks_the_listed_files_even_excluded_ones(project, capsys):
    (project / "pyproject.toml").write_text('[tool.leaklint]\nextend-exclude = ["fixtures/loops"]\n', encoding="utf-8")
    (project / "shard.txt").write_text("fixtures/tasks/dangling_task.py\n\nfixtures/loops/endless_loop.py\r\n", encoding="utf-8")
    code, out, _ = run(capsys, "--output-format", "json", "--files-from", "shard.txt")
    assert code == 1
    paths = {finding["path"] for finding in json.loads(out)}
    assert paths == {"fixtures/tasks/dangling_task.py", "fixtures/loops/endless_loop.py"}


def test_files_from_stdin_shards_merge_to_the_whole_run(project, capsys):
    files = sorted(str(path.relative_to(project).as_posix()) for path in (project / "fixtures").rglob("*.py"))
    shards = [files[::2], files[1::2]]
    merged = []
    for shard in shards:
        code, out, _ = run(capsys, "--output-format", "json", "--files-from", "-", stdin="\n".join(shard) + "\n")
        assert code == 1
        merged.extend(json.loads(out))
    _, whole, _ = run(capsys, "--output-format", "json", "fixtures")
    key = lambda finding: (finding["path"], finding["line"], finding["column"], finding["code"])  # noqa: E731
    assert sorted(merged, key=key) == sorted(json.loads(whole), key=key)


def test_files_from_with_named_paths_and_errors(project, capsys):
    (project / "leaky.py").write_text(LEAKY, encoding="utf-8")
    (project / "list.txt").write_text("missing.py\n", encoding="utf-8")
    code, out, err = run(capsys, "leaky.py", "--files-from", "list.txt")
    assert code == 2
    assert out.startswith("leaky.py:5:5: LL101 ")
    assert "leaklint: error: missing.py: no such file or directory" in err
    code, out, err = run(capsys, "--files-from", "nope.txt")
    assert (code, out) == (2, "")
    assert err.startswith("leaklint: error: --files-from nope.txt: cannot read: ")
    code, _, err = run(capsys, "-", "--files-from", "-")
    assert code == 2
    assert "standard input cannot hold both" in err


def test_files_from_an_empty_list_checks_nothing(project, capsys):
    (project / "empty.txt").write_text("", encoding="utf-8")
    assert run(capsys, "--files-from", "empty.txt") == (0, "All checks passed!\n", "")
