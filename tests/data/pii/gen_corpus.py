#!/usr/bin/env python3
"""gen_corpus.py — writes corpus.jsonl, the labelled PII corpus that tests/unit/test_pii_corpus.c
scores the detectors against (python3 standard library only; fixed seed, so the output is the
same on every run: `python3 tests/data/pii/gen_corpus.py > tests/data/pii/corpus.jsonl`).

One JSON object per line: {"text": str, "spans": [{"kind", "start", "end"}], "cat": str}, with
start/end as UTF-8 byte offsets (end exclusive) and kind one of mynumber, phone, email, card,
pension, passport. "cat" names the generator (for reading failures; the test ignores it).

The labels follow the policy in docs/pii.md: what a reviewer wants masked. Every value is
synthetic (random digits with computed check digits); none is a real person's number.

Sentences are forms, e-mails and chat requests to a government AI assistant, in Japanese and
English. Hard negatives: 12-digit numbers with a wrong check digit (in every format and next to
個人番号), 13-digit 法人番号 and 13-digit runs holding a valid 12-digit number, phone-like numbers
that are too long, dates, amounts, postal codes, invoice numbers, order numbers, Luhn-invalid
and issuer-less card-like numbers, product codes shaped like passports without context, times,
versions, IP addresses, ISBNs, and strings with '@' that are not addresses.
"""
import json
import random
import sys

R = random.Random(20261122)
FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


# ---- values ---------------------------------------------------------------------------------

def digits(n, first="0123456789"):
    return R.choice(first) + "".join(R.choice("0123456789") for _ in range(n - 1))


def my_check(base11):
    # P_n: n-th digit from the right (n = 1..11); Q_n = n+1 (n <= 6), n-5 (n >= 7)
    total = 0
    for n in range(1, 12):
        p = int(base11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return 0 if r <= 1 else 11 - r


def mynumber(valid=True):
    while True:
        b = digits(11)
        c = my_check(b)
        if b == "00000000000":
            continue
        if valid:
            return b + str(c)
        wrong = [d for d in range(10) if d != c]
        # 0 and 1 residues both give 0: avoid a "wrong" digit that is also right for a sibling
        return b + str(R.choice(wrong))


def corp_check(base12):
    total = sum(int(base12[12 - n]) * (1 if n % 2 else 2) for n in range(1, 13))
    return 9 - total % 9


def corpnum():
    b = digits(12)
    return str(corp_check(b)) + b


def luhn_complete(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c


def luhn_ok(s):
    total = 0
    for i, ch in enumerate(reversed(s)):
        v = int(ch)
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


CARD_BRANDS = [("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16),
               ("2720", 16), ("34", 15), ("37", 15), ("3528", 16), ("3589", 16), ("35", 16),
               ("36", 14), ("300", 14), ("6011", 16), ("65", 16), ("62", 16)]


def card_number():
    prefix, n = R.choice(CARD_BRANDS)
    if prefix == "35":
        prefix = str(R.randint(3528, 3589))
    return luhn_complete(prefix, n)


def group(s, sizes, sep):
    out, i = [], 0
    for k in sizes:
        out.append(s[i:i + k])
        i += k
    if i < len(s):
        out.append(s[i:])
    return sep.join(out)


def card_format(num):
    n = len(num)
    if n == 15:
        sizes = [4, 6, 5]
    elif n == 14:
        sizes = [4, 6, 4]
    else:
        sizes = [4] * (n // 4) + ([n % 4] if n % 4 else [])
    style = R.choice(["plain", "-", " ", "-", " "])
    if style == "plain":
        return num
    return group(num, sizes, style)


def mynumber_format(num):
    style = R.choice(["plain", "-", " ", "\u3000", "fw", "fw-", "fw\u3000", "ー", "\uff0d"])
    if style == "plain":
        return num
    if style == "fw":
        return num.translate(FW)
    if style == "fw-":
        return group(num, [4, 4, 4], "-").translate(FW)
    if style == "fw\u3000":
        return group(num.translate(FW), [4, 4, 4], "\u3000")
    return group(num, [4, 4, 4], style)


AREAS = ["03", "06", "011", "022", "045", "048", "052", "075", "078", "082", "092", "098",
         "0466", "0798", "0120", "0570", "01267", "0995"]


def phone_national():
    kind = R.random()
    if kind < 0.45:
        head = R.choice(["090", "080", "070", "050"])
        return [head, digits(4), digits(4)]
    area = R.choice(AREAS)
    if area in ("0120", "0570"):
        return [area, digits(3), digits(3)]
    mid = 10 - 4 - len(area)
    return [area, digits(mid), digits(4)]


def phone_format(groups):
    style = R.choice(["-", "-", "-", "plain", " ", "fw", "+81-", "+81 ", "+81plain", "+81mix"])
    nat = "".join(groups)
    if style == "plain":
        return nat
    if style == "fw":
        return "-".join(groups).translate(FW)
    if style.startswith("+81"):
        if groups[0] in ("0120", "0570"):
            return "-".join(groups)
        first = groups[0][1:]
        if style == "+81-":
            return "+81-" + "-".join([first] + groups[1:])
        if style == "+81 ":
            return "+81 " + " ".join([first] + groups[1:])
        if style == "+81mix":
            return "+81 " + "-".join([first] + groups[1:])
        return "+81" + nat[1:]
    return style.join(groups)


FIRST = ["taro", "hanako", "yuki", "ken", "sato", "suzuki", "takahashi", "tanaka", "watanabe",
         "ito", "yamamoto", "nakamura", "kobayashi", "kato", "a.yoshida", "m_sasaki", "k-inoue"]
DOMAINS = ["city.yokohama.lg.jp", "pref.osaka.lg.jp", "example.go.jp", "mail.example.co.jp",
           "gmail.com", "example.com", "soumu.example.jp", "univ.example.ac.jp", "outlook.jp"]


def email():
    local = R.choice(FIRST)
    if R.random() < 0.4:
        local += str(R.randint(1, 9999))
    if R.random() < 0.2:
        local += "+ai"
    return local + "@" + R.choice(DOMAINS)


def pension():
    return digits(4, "0123456789"), digits(6)


PASSPORT_LETTERS = ["TK", "TZ", "TR", "TS", "TH", "MZ", "MU", "RE", "RH", "RK"]


def passport():
    return R.choice(PASSPORT_LETTERS) + digits(7)


# ---- sentences ----------------------------------------------------------------------------------

NAMES = ["山田太郎", "佐藤花子", "鈴木一郎", "高橋美咲", "田中健", "伊藤さくら", "渡辺翔", "中村優子"]
CITIES = ["横浜市", "大阪市", "札幌市", "福岡市", "千代田区", "那覇市", "仙台市", "神戸市"]


def fill(template, **slots):
    """template uses {name} slots; slot values are str (plain text) or (kind, str) (a span)."""
    pieces = []
    rest = template
    while "{" in rest:
        a = rest.index("{")
        b = rest.index("}", a)
        pieces.append(rest[:a])
        key = rest[a + 1:b]
        if key in slots:
            pieces.append(slots[key])
        else:
            pieces.append(R.choice(NAMES) if key == "who" else R.choice(CITIES))
        rest = rest[b + 1:]
    pieces.append(rest)
    text, spans, pos = "", [], 0
    for p in pieces:
        if isinstance(p, tuple):
            kind, val = p
            b = len(val.encode())
            spans.append({"kind": kind, "start": pos, "end": pos + b})
            text += val
            pos += b
        else:
            text += p
            pos += len(p.encode())
    return text, spans


MYNUMBER_CTX = [
    "{who}さんの個人番号は{v}です。住民票の写しと照合してください。",
    "マイナンバー：{v}\n氏名：{who}\n住所：{city}",
    "申請書の個人番号欄に {v} と記入されていますが、正しいか確認できますか？",
    "以下の内容で扶養控除申告書を作成して。本人のマイナンバー {v}、{city}在住。",
    "Please check the My Number {v} on the attached form for {who}.",
    "My Number: {v} (for the tax withholding slip)",
    "通知カードに記載の番号（{v}）を入力しましたがエラーになります。",
    "個人番号カードの番号は{v}で、有効期限は令和10年3月31日です。",
]
MYNUMBER_BARE = [
    "番号 {v} の件、{city}の窓口に問い合わせてください。",
    "{who}様　{v}　照会結果を添付します。",
    "Reference {v} was attached to the application.",
    "この値 {v} を要約に含めないでください。",
]
PHONE_CTX = [
    "電話番号：{v}（平日9時〜17時）",
    "{who}さんの携帯は{v}です。折り返しお願いします。",
    "お問い合わせは{city}役所 市民課 TEL {v} まで。",
    "Call me at {v} if the form is incomplete.",
    "連絡先 {v}\n担当 {who}",
    "Phone: {v}, extension 1234",
]
PHONE_BARE = [
    "{city}の窓口 {v} に確認したところ、受付は終了していました。",
    "{who} {v} 不在のため再送",
    "Please forward this to {v} before Friday.",
]
EMAIL_T = [
    "メールアドレスは{v}です。", "返信先：{v}", "Send the draft to {v} and cc the section chief.",
    "{who}（{v}）から次の問い合わせがありました。要点をまとめて。",
    "From: {v}\nSubject: 住民税の申告について", "連絡は {v} まで",
]
CARD_T = [
    "クレジットカード番号 {v} で支払いました。", "Card number: {v}, exp 12/28",
    "手数料は{v}のカードで決済済みです。", "{who}様 お支払い方法：VISA {v}",
    "この番号 {v} が請求書に印字されています。", "Charge {v} for the subscription.",
]
PENSION_CTX = [
    "基礎年金番号：{v}", "{who}さんの年金番号は{v}です。年金事務所へ照会してください。",
    "年金手帳の番号 {v} を記入", "Basic pension number {v} is on the form.",
]
PENSION_BARE = ["照会番号 {v} の{who}様の記録", "{v} の記録を確認してください。"]
PASSPORT_T = [
    "パスポート番号：{v}", "旅券番号 {v} の有効期限を確認", "Passport No. {v}, issued in Tokyo.",
    "{who}さんのパスポート（{v}）のコピーを添付します。", "passport number {v}",
]


def ctx_sample(templates, kind, val):
    return fill(R.choice(templates), v=(kind, val))


def neg_sample(templates, val):
    return fill(R.choice(templates), v=val)


NEG_T = [
    "{v}", "確認番号は{v}です。", "値: {v}", "Please look at {v}.", "{who}さん、{v} の件で連絡します。",
]


def negatives():
    """(category, text) generators of hard negatives."""
    def wrong_mynumber():
        return fill(R.choice(MYNUMBER_CTX), v=mynumber_format(mynumber(False)))

    def corp():
        return fill(R.choice(["法人番号 {v} の法人情報を調べて", "Corporate number {v}",
                              "事業者番号：{v}"]), v=corpnum())

    def thirteen():
        v = mynumber()
        # not led by 4: a Luhn-valid 13-digit run led by 4 is a (Visa) card number
        s = R.choice([v + digits(1), digits(1, "12356789") + v]) if v[0] != "4" else digits(1, "12356789") + v
        return neg_sample(NEG_T, s)

    def long_phone():
        v = R.choice(["090-" + digits(4) + "-" + digits(5), "03-" + digits(4) + "-" + digits(5),
                      "0120-" + digits(3) + "-" + digits(4) + "-" + digits(2),
                      "080-" + digits(5) + "-" + digits(4)])
        return fill(R.choice(PHONE_CTX), v=v)

    def date():
        y, m, d = R.randint(2019, 2030), R.randint(1, 12), R.randint(1, 28)
        v = R.choice([f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"令和{y - 2018}年{m}月{d}日",
                      f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日 {R.randint(0, 23)}:{R.randint(10, 59)}"])
        return fill("申請日 {v}、受付は{city}です。", v=v)

    def amount():
        v = R.choice([f"{R.randint(1, 999)},{R.randint(100, 999)},{R.randint(100, 999)}円",
                      f"¥{R.randint(1, 99)},{R.randint(100, 999)},{R.randint(100, 999)},{R.randint(100, 999)}",
                      f"{R.randint(100000000, 999999999)}円", f"{R.randint(1000, 9999)}億円"])
        return fill("予算額は{v}です。", v=v)

    def postal():
        return fill("〒{v} {city}霞が関1-2-3", v=f"{R.randint(100, 999)}-{R.randint(1000, 9999)}")

    def invoice():
        return fill(R.choice(["登録番号 {v}", "適格請求書発行事業者 {v}", "Invoice No. {v}"]),
                    v="T" + corpnum())

    def order():
        v = R.choice([f"{R.randint(100, 999)}-{digits(7)}-{digits(7)}", f"ORD-2026-{digits(8)}",
                      f"A{digits(11)}", f"{digits(14, '1')}", f"INV{digits(12)}",
                      f"{digits(4)}-{digits(4)}-{digits(4)}-{digits(4)}-{digits(4)}"])
        return fill(R.choice(["注文番号 {v}", "Order {v} has shipped.", "受付番号：{v}"]), v=v)

    def bad_luhn():
        prefix, n = R.choice(CARD_BRANDS)
        v = luhn_complete(prefix if prefix != "35" else "3530", n)
        last = (int(v[-1]) + R.randint(1, 9)) % 10
        return fill(R.choice(CARD_T), v=card_format(v[:-1] + str(last)))

    def no_issuer():
        v = luhn_complete(R.choice(["9", "1", "80", "70", "0"]), 16)
        return fill(R.choice(CARD_T[4:]), v=card_format(v))

    def product():
        return fill(R.choice(["型番 {v} の在庫", "Model {v} replacement parts", "品番：{v}"]),
                    v=R.choice(["AB", "XZ", "QF", "KT"]) + digits(7))

    def misc():
        v = R.choice([f"{R.randint(0, 23)}:{R.randint(10, 59)}:{R.randint(10, 59)}",
                      f"v{R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 99)}",
                      f"192.168.{R.randint(0, 255)}.{R.randint(0, 255)}",
                      f"978-4-{R.randint(10, 99)}-{digits(6)}-{R.randint(0, 9)}",
                      "@" + R.choice(FIRST), R.choice(FIRST) + "@localhost", "foo@bar",
                      f"{digits(10, '123456789')}", f"{digits(12)}.{digits(2)}",
                      f"3.{digits(14)}", f"第{R.randint(1, 99)}条第{R.randint(1, 9)}項",
                      f"{digits(3)}-{digits(4)}-{digits(4)}-{digits(3)}"])
        return neg_sample(NEG_T, v)

    def wrong_mynumber_bare():
        return neg_sample(NEG_T, mynumber_format(mynumber(False)))

    def ticket46():
        return fill(R.choice(["会員番号 {v}", "整理券 {v}"]), v=f"{digits(4)}-{digits(6)}")

    return [("neg_mynumber_wrong", wrong_mynumber, 260), ("neg_mynumber_wrong_bare", wrong_mynumber_bare, 120),
            ("neg_corpnum", corp, 80), ("neg_13digit", thirteen, 100), ("neg_long_phone", long_phone, 80),
            ("neg_date", date, 80), ("neg_amount", amount, 60), ("neg_postal", postal, 40),
            ("neg_invoice", invoice, 50), ("neg_order", order, 80), ("neg_bad_luhn", bad_luhn, 80),
            ("neg_no_issuer", no_issuer, 40), ("neg_product", product, 50), ("neg_misc", misc, 120),
            ("neg_ticket_4_6", ticket46, 10)]


def positives():
    def my_ctx():
        return ctx_sample(MYNUMBER_CTX, "mynumber", mynumber_format(mynumber()))

    def my_bare():
        return ctx_sample(MYNUMBER_BARE, "mynumber", mynumber_format(mynumber()))

    def ph_ctx():
        return ctx_sample(PHONE_CTX, "phone", phone_format(phone_national()))

    def ph_bare():
        return ctx_sample(PHONE_BARE, "phone", phone_format(phone_national()))

    def em():
        return ctx_sample(EMAIL_T, "email", email())

    def card():
        return ctx_sample(CARD_T, "card", card_format(card_number()))

    def pen_ctx():
        a, b = pension()
        v = R.choice([a + "-" + b, a + b, a + " " + b, (a + "-" + b).translate(FW)])
        return ctx_sample(PENSION_CTX, "pension", v)

    def pen_bare():
        a, b = pension()
        return ctx_sample(PENSION_BARE, "pension", a + "-" + b)

    def pp():
        return ctx_sample(PASSPORT_T, "passport", passport())

    def form():
        return fill("【申請書】\n氏名：{who}\n個人番号：{m}\n電話番号：{p}\nメール：{e}\n基礎年金番号：{n}\n",
                    m=("mynumber", mynumber_format(mynumber())), p=("phone", phone_format(phone_national())),
                    e=("email", email()), n=("pension", "-".join(pension())))

    def english_mail():
        return fill("Dear team,\nThe applicant {who} (passport {pp}) can be reached at {p} or {e}. "
                    "Payment was made with card {c} on 2026-11-22.\nRegards",
                    pp=("passport", passport()), p=("phone", phone_format(phone_national())),
                    e=("email", email()), c=("card", card_format(card_number())))

    def chat():
        return fill("次の文章から個人情報を除いて要約してください：「{who}（マイナンバー{m}、電話{p}）は"
                    "令和8年11月22日に{city}へ転入し、手数料1,200円を納付した。」",
                    m=("mynumber", mynumber_format(mynumber())), p=("phone", phone_format(phone_national())))

    def bare_valid_12():
        # Any check-valid 12-digit number is reported (fail closed), even as an "order number".
        return ctx_sample(["注文番号 {v}", "Tracking {v}", "{v}"], "mynumber", mynumber())

    return [("pos_mynumber_ctx", my_ctx, 320), ("pos_mynumber_bare", my_bare, 120),
            ("pos_mynumber_any12", bare_valid_12, 40),
            ("pos_phone_ctx", ph_ctx, 180), ("pos_phone_bare", ph_bare, 80), ("pos_email", em, 120),
            ("pos_card", card, 160), ("pos_pension_ctx", pen_ctx, 100), ("pos_pension_bare", pen_bare, 30),
            ("pos_passport", pp, 80), ("pos_form", form, 60), ("pos_english_mail", english_mail, 60),
            ("pos_chat", chat, 60)]


def main():
    rows = []
    for cat, fn, count in positives() + negatives():
        for _ in range(count):
            text, spans = fn()
            rows.append({"text": text, "spans": spans, "cat": cat})
    R.shuffle(rows)
    out = sys.stdout
    for r in rows:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
