"""Spreadsheets in and out.

Reading a roster file as rows of cells: CSV in whatever encoding Excel or WPS saved it (UTF-8, UTF-8 with
BOM, GBK/GB18030, UTF-16), XLSX (the first visible sheet or a named one; formulas as their saved values;
size and ratio limits on its parts), or a JSON export. Rows are numbered as a
spreadsheet shows them (the header is row 1), so that error messages point at the row the user sees.

Writing a plain table as a sheet of an xlsxwriter workbook in constant-memory mode (new_workbook,
write_sheet): the layout every workbook of ours shares, with memory flat in the number of rows.
"""

from __future__ import annotations

import codecs
import csv
import math
import io
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import GovpulseError, ValidationError
from registry.i18n import L

if TYPE_CHECKING:
    from xlsxwriter import Workbook

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
MAX_CELL = 100_000  # a cell larger than this is not roster data
HINT_SAVE_AS = ('在 Excel/WPS 中另存为 "CSV UTF-8" 或 .xlsx', 'save it from Excel/WPS as "CSV UTF-8" or as .xlsx')


@dataclass
class Sheet:
    rows: Iterator[tuple[int, list[Any]]]  # (row number, cells)
    format: str  # "csv" | "xlsx" | "json"
    encoding: str | None = None
    name: str | None = None  # the XLSX sheet read
    total: int | None = None  # number of rows, when known up front


def open_sheet(path: Path, *, sheet: str | None = None) -> Sheet:
    if not path.is_file():
        raise ValidationError(L(f"找不到文件 {str(path)!r}", f"no such file: {str(path)!r}"))
    with path.open("rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") or head.startswith(ZIP_MAGIC):
        return _open_xlsx(path, sheet)
    if head.startswith(OLE_MAGIC):
        raise ValidationError(
            L(f"{path.name} 是旧版 .xls 文件, 不支持", f"{path.name} is an old .xls workbook, which is not supported"),
            hint=L("在 Excel/WPS 中另存为 .xlsx", "save it from Excel/WPS as .xlsx"),
        )
    if sheet:
        raise ValidationError(
            L(f"--sheet 只适用于 XLSX, {path.name} 不是", f"--sheet applies to XLSX files; {path.name} is not one")
        )
    data = path.read_bytes()
    if suffix == ".json":
        return _open_json(path, data)
    return _open_csv(path, data)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in; a ValidationError when that cannot be told."""
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise ValidationError(L(f"{name} 是空文件", f"{name} is empty"))
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError as exc:
        raise ValidationError(
            L(f"{name} 的编码有误 (字节 {exc.start})", f"{name} has an encoding error at byte {exc.start}"),
            hint=L(*HINT_SAVE_AS),
        ) from None
    if b"\x00" in data:
        raise ValidationError(L(f"{name} 不是文本 CSV 文件", f"{name} is not a CSV text file"), hint=L(*HINT_SAVE_AS))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guess = best.encoding.replace("_", "").lower() if best else None
    if guess in GB_FAMILY:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    seen = L(f" (看起来像 {best.encoding})", f" (it looks like {best.encoding})") if best else ""
    raise ValidationError(
        L(
            f"无法识别 {name} 的编码{seen}: 应为 UTF-8 或 GBK/GB18030",
            f"cannot tell the encoding of {name}{seen}: expected UTF-8 or GBK/GB18030",
        ),
        hint=L(*HINT_SAVE_AS),
    )


DELIMITERS = (",", "\t", ";", "|")
SNIFF_LINES = 30


def sniff_delimiter(text: str) -> str:
    """The delimiter over the first SNIFF_LINES non-blank lines: the one that splits the most lines into
    the same number (at least two) of fields. A title line above the header, or a comma inside a
    title, does not decide it."""
    lines = [line for line in islice(text.splitlines(), SNIFF_LINES * 4) if line.strip()][:SNIFF_LINES]

    def score(delimiter: str) -> tuple[int, int]:
        try:
            widths = [len(cells) for cells in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            return 0, 0
        common = Counter(w for w in widths if w > 1).most_common(1)
        return (common[0][1], common[0][0]) if common else (0, 0)

    return max(DELIMITERS, key=score)


def _open_csv(path: Path, data: bytes) -> Sheet:
    text, encoding = decode(data, path.name)
    delimiter = sniff_delimiter(text)
    del data

    def rows() -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error as exc:
            raise ValidationError(
                L(
                    f"{path.name} 第 {number + 1} 行不是有效的 CSV: {exc}",
                    f"{path.name} row {number + 1} is not valid CSV: {exc}",
                )
            ) from None

    csv.field_size_limit(MAX_CELL)
    return Sheet(rows=rows(), format="csv", encoding=encoding, total=text.count("\n") or None)


# Limits on the parts of an XLSX (a ZIP of XML files), checked before anything is inflated: a crafted
# workbook whose shared strings inflate to gigabytes is refused instead of read into memory. The shared
# strings are held in memory whole; sheets are streamed. A 100,000-account export stays far below these.
XLSX_SHARED_MAX = 128 * 2**20
XLSX_PART_MAX = 512 * 2**20
XLSX_TOTAL_MAX = 1024 * 2**20
XLSX_RATIO_MAX = 100  # inflated size over compressed size, for parts above XLSX_RATIO_FLOOR
XLSX_RATIO_FLOOR = 2**20
HINT_XLSX = (
    "用 Excel/WPS 打开并另存为 .xlsx, 或另存为 CSV UTF-8",
    "open it in Excel/WPS and save it as .xlsx, or as CSV UTF-8",
)


class NoCachedValue(str):
    """A formula cell the workbook holds no computed value for (saved by a program that does not
    calculate): its formula text, which is never data."""


def _not_xlsx(path: Path, exc: BaseException) -> ValidationError:
    return ValidationError(
        L(
            f"{path.name} 不是有效的 XLSX 工作簿 ({type(exc).__name__})",
            f"{path.name} is not an XLSX workbook ({type(exc).__name__})",
        ),
        hint=L(*HINT_XLSX),
    )


def _check_parts(path: Path) -> None:
    """Refuse a workbook whose parts would inflate beyond the limits (declared sizes: the ZIP reader
    never inflates a part beyond its declared size)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _not_xlsx(path, exc) from None
    total = 0
    for part in parts:
        size = part.file_size
        total += size
        limit = XLSX_SHARED_MAX if part.filename.lower().endswith("sharedstrings.xml") else XLSX_PART_MAX
        ratio = size / max(part.compress_size, 1)
        if size > limit or total > XLSX_TOTAL_MAX or (size > XLSX_RATIO_FLOOR and ratio > XLSX_RATIO_MAX):
            mib = size / 2**20
            raise ValidationError(
                L(
                    f"{path.name} 的部件 {part.filename} 解压后有 {mib:,.0f} MiB (压缩比 {ratio:,.0f}:1), 超过限制, 拒绝读取",
                    f"{path.name}: part {part.filename} inflates to {mib:,.0f} MiB (ratio {ratio:,.0f}:1), beyond the "
                    f"limits; not read",
                ),
                hint=L(
                    f"单个部件不超过 {limit // 2**20} MiB、压缩比不超过 {XLSX_RATIO_MAX}:1; 正常台账远小于此, "
                    "该文件可能已损坏或是恶意构造的; 可另存为 CSV UTF-8",
                    f"a part may hold at most {limit // 2**20} MiB at a ratio of at most {XLSX_RATIO_MAX}:1; "
                    "a real roster is far smaller, so the file is damaged or crafted; save it as CSV UTF-8",
                ),
            )


def _open_xlsx(path: Path, sheet: str | None) -> Sheet:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_parts(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        OSError,
        ValueError,
        EOFError,
        SyntaxError,
        zlib.error,
    ) as exc:
        raise _not_xlsx(path, exc) from None
    sheets = [ws for ws in workbook.worksheets if hasattr(ws, "_worksheet_path")]  # not chart sheets
    visible = [ws for ws in sheets if ws.sheet_state == "visible"]

    def listing() -> str:
        return ", ".join(ws.title + ("" if ws.sheet_state == "visible" else L(" (隐藏)", " (hidden)")) for ws in sheets)

    if sheet is not None and sheet not in [ws.title for ws in sheets]:
        names = listing()
        workbook.close()
        raise ValidationError(
            L(f"{path.name} 中没有工作表 {sheet!r}", f"{path.name} has no sheet {sheet!r}"),
            hint=L(f"工作表有: {names}", f"its sheets are: {names}"),
        )
    if not visible and sheet is None:
        names = listing()
        workbook.close()
        raise ValidationError(
            L(f"{path.name} 没有可见的工作表", f"{path.name} has no visible sheet"),
            hint=L(f"用 --sheet 指定一个: {names}", f"name one with --sheet: {names}") if names else None,
        )
    worksheet = next(ws for ws in sheets if ws.title == sheet) if sheet is not None else visible[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            yield from _xlsx_rows(workbook, worksheet)
        except GovpulseError:
            raise
        except Exception as exc:  # a truncated or damaged part: zlib, XML or ZIP errors, bad cell values
            raise ValidationError(
                L(
                    f"{path.name} 的工作表 {worksheet.title!r} 已损坏或不完整 ({type(exc).__name__}), 未导入任何数据",
                    f"{path.name}: sheet {worksheet.title!r} is damaged or truncated ({type(exc).__name__}); "
                    "nothing was imported",
                ),
                hint=L(*HINT_XLSX),
            ) from None
        finally:
            workbook.close()

    return Sheet(rows=rows(), format="xlsx", name=worksheet.title, total=worksheet.max_row)


def _xlsx_rows(workbook: Any, worksheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """The sheet's rows as the workbook last computed them: a formula cell gives its saved value, or
    NoCachedValue when it has none. Rows are numbered as the sheet numbers them (blank rows are skipped)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class CachedValues(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            if cell["value"] is None:
                formula = element.find(FORMULA_TAG)
                if formula is not None:
                    cell["value"] = NoCachedValue("=" + (formula.text or ""))
            return cell

    with workbook._archive.open(worksheet._worksheet_path) as source:
        parser = CachedValues(
            source,
            worksheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            values: list[Any] = [None] * (max((c["column"] for c in cells), default=0))
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values


def _open_json(path: Path, data: bytes) -> Sheet:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            L(f"{path.name} 不是有效的 JSON: {exc}", f"{path.name} is not valid JSON: {exc}")
        ) from None
    records = doc.get("accounts") if isinstance(doc, dict) else doc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationError(
            L(
                f"{path.name} 应是对象列表 (govpulse export 的 JSON)",
                f"{path.name} must hold a list of objects (as govpulse export writes)",
            )
        )
    if not records:
        raise ValidationError(L(f"{path.name} 是空文件", f"{path.name} is empty"))
    headers = list(dict.fromkeys(k for record in records for k in record))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        yield 1, headers
        for number, record in enumerate(records, start=2):
            yield number, [record.get(h) for h in headers]

    return Sheet(rows=rows(), format="json", encoding="utf-8", total=len(records) + 1)


# ------------------------------------------------------------------------------------------------ writing

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
WIDTH_SAMPLE = 2000  # rows looked at to fit a column's width
WIDTH_MAX = 60
SHEET_TITLE_MAX = 31
# Characters XML 1.0 cannot carry (crawled text may hold them): dropped, as openpyxl refuses them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# Wide characters (CJK, Hangul, full-width forms): two columns each.
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def new_workbook(target: Any) -> Workbook:
    """An xlsxwriter workbook writing to `target` (a path or a binary file) in constant-memory mode: each
    row goes to disk as the next begins. Text stays text: never a formula, a link or a number."""
    from xlsxwriter import Workbook

    return Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": DATETIME_FORMAT,
        },
    )


def write_sheet(
    workbook: Workbook,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    formats: Sequence[str | None] = (),
    footer: str | None = None,
) -> int:
    """Append `rows` as a new sheet of a workbook from new_workbook(); returns the number of rows.

    The header row is bold, frozen and filtered, and printed at the top of every page (see print_setup);
    column widths fit the header and the first WIDTH_SAMPLE rows (`rows` may be a stream). Values: str,
    int, float, bool, naive date/datetime (local time: Excel has no time zones) or None (an empty cell). `formats` gives a column's number format (DATETIME_FORMAT,
    PERCENT_FORMAT...), `footer` the printed page's footer (print_setup). Text is always stored as text,
    never as a formula; characters that XML cannot carry are dropped.
    """
    sheet = workbook.add_worksheet(sheet_title(title, [w.name for w in workbook.worksheets()]))
    stream = iter(rows)
    sample = list(islice(stream, WIDTH_SAMPLE))
    for i, width in enumerate(column_widths(header, sample, formats)):
        sheet.set_column(i, i, width)
    sheet.freeze_panes(1, 0)
    print_setup(sheet, footer)
    bold = workbook.add_format({"bold": True})
    for i, h in enumerate(header):
        sheet.write_string(0, i, _NOT_XML.sub("", h), bold)
    by_column = {i: workbook.add_format({"num_format": f}) for i, f in enumerate(formats) if f}
    dated = workbook.add_format({"num_format": DATETIME_FORMAT})
    undated = workbook.add_format({"num_format": DATE_FORMAT})
    n = _append_rows(
        sheet,
        chain(sample, stream),
        {i: f._get_xf_index() for i, f in by_column.items()},
        dated._get_xf_index(),
        undated._get_xf_index(),
    )
    if n:
        sheet.autofilter(0, 0, n, len(header) - 1)
    return n


A4 = 9  # the paper size code of the spreadsheet formats


def print_setup(sheet: Any, footer: str | None = None) -> None:
    """How a sheet prints: A4 landscape, every column on the page's width (as many pages down as the rows
    need), the header row at the top of each page, the page number and the page count in the footer
    (`footer` in the spreadsheet's header/footer codes, by default in the user's language)."""
    sheet.set_paper(A4)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_footer(footer or L("&C第 &P 页，共 &N 页", "&CPage &P of &N"))


EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 0 as Excel counts (serials are right from 1 March 1900)
FIRST_RIGHT_SERIAL = datetime(1900, 3, 1)
CELL_TEXT_MAX = 32_767  # characters Excel holds in a cell
BATCH_ROWS = 1000


def _append_rows(sheet: Any, rows: Iterable[Sequence[Any]], column_xf: dict[int, int], dated: int, undated: int) -> int:
    """Write the data rows (row 2 on) of a constant-memory worksheet whose header row is written, as the
    same row XML xlsxwriter writes in that mode (inline strings, numbers, booleans, dates as serials with a
    date style); returns the number of rows.

    Why not xlsxwriter's write_*(): at five microseconds a cell (cell objects, range and dimension checks
    and two regular expressions per string), a 100,000-account roster of 1.1 million cells took longer
    to write than reading and labelling its rows; this loop does the same per cell in a few string
    operations. It relies on the constant-memory row file of xlsxwriter 3 (pinned below 4 in
    pyproject.toml), which the workbook then copies into the sheet as it would its own rows.
    """
    from xlsxwriter.utility import xl_col_to_name

    sheet._write_single_row(1)  # the header row goes to the row file first
    out = sheet.row_data_fh
    letters: list[str] = []
    styles: list[str] = []
    batch: list[str] = []
    n = width = 0
    for n, row in enumerate(rows, 1):
        r = n + 1
        if len(row) > width:
            width = len(row)
            letters = [xl_col_to_name(i) for i in range(width)]
            styles = [f' s="{column_xf[i]}"' if i in column_xf else "" for i in range(width)]
        cells = []
        for i, v in enumerate(row):
            if v is None:
                continue
            kind = type(v)
            if kind is str:
                if not v:
                    continue
                if _NOT_XML.search(v):
                    v = _NOT_XML.sub("", v)
                if len(v) > CELL_TEXT_MAX:
                    v = v[:CELL_TEXT_MAX]
                space = ' xml:space="preserve"' if v[:1].isspace() or v[-1:].isspace() else ""
                text = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                cells.append(f'<c r="{letters[i]}{r}"{styles[i]} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif kind is int:
                cells.append(f'<c r="{letters[i]}{r}"{styles[i]}><v>{v}</v></c>')
            elif kind is bool:
                cells.append(f'<c r="{letters[i]}{r}"{styles[i]} t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, date):
                moment = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
                if moment < FIRST_RIGHT_SERIAL:  # before Excel's serials are right: shown as text
                    text = moment.isoformat(" ", "minutes") if isinstance(v, datetime) else v.isoformat()
                    cells.append(f'<c r="{letters[i]}{r}"{styles[i]} t="inlineStr"><is><t>{text}</t></is></c>')
                    continue
                delta = moment - EXCEL_EPOCH
                serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
                style = column_xf.get(i, dated if isinstance(v, datetime) else undated)
                cells.append(f'<c r="{letters[i]}{r}" s="{style}"><v>{serial:.16G}</v></c>')
            else:  # float, and numpy and decimal numbers
                number = float(v)
                if math.isfinite(number):  # Excel has no NaN or infinity: left empty
                    cells.append(f'<c r="{letters[i]}{r}"{styles[i]}><v>{number:.16G}</v></c>')
        batch.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(batch) == BATCH_ROWS:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    if n:
        sheet._check_dimensions(n, width - 1)  # the sheet's extent, as writing its last cell would set it
    return n


def column_widths(
    header: Sequence[str], sample: Sequence[Sequence[Any]], formats: Sequence[str | None] = ()
) -> list[float]:
    """Each column's width in characters: its widest value (a formatted one as wide as its format), plus 2."""
    widths: list[float] = []
    for i, column in enumerate(zip(header, *sample, strict=True)):
        number_format = formats[i] if i < len(formats) else None
        widest = (
            max(_display_width(column[0]), len(number_format)) if number_format else max(map(_display_width, column))
        )
        widths.append(min(WIDTH_MAX, widest) + 2)
    return widths


def _display_width(value: Any) -> int:
    """Characters as Excel lays them out: CJK and full-width ones count twice."""
    if value is None:
        return 0
    if isinstance(value, date):
        return len(DATETIME_FORMAT) if isinstance(value, datetime) else len(DATE_FORMAT)
    text = (value if type(value) is str else str(value))[:WIDTH_MAX]
    return len(text) if text.isascii() else len(text) + len(_WIDE.findall(text))


def sheet_title(title: str, taken: Iterable[str]) -> str:
    """A sheet name Excel accepts: none of []:*?/\\ or control characters, at most 31 characters, no
    apostrophe at either end, and unlike the names `taken` (Excel compares them ignoring case)."""
    clean = _NOT_IN_TITLE.sub("_", title).strip("'")[:SHEET_TITLE_MAX] or "Sheet"
    used = {name.lower() for name in taken}
    name, n = clean, 2
    while name.lower() in used:
        suffix = f"({n})"
        name = clean[: SHEET_TITLE_MAX - len(suffix)] + suffix
        n += 1
    return name
