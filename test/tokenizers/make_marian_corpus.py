#!/usr/bin/python3
"""Write test/data/marian_corpus.txt: multilingual source texts for the
Marian tokenizer test (test/unit/test_marian_tokenizer.c), one per line.

Fourteen scripts, as a new user's data would have them: Thai, Devanagari
(Hindi), Greek, Hangul (Korean), Japanese (kana and kanji), Chinese (Han),
Arabic, Hebrew, Cyrillic (Russian), Georgian, Armenian, Ethiopic (Amharic),
Tamil and Bengali. Each has a dozen hand-written everyday sentences; seeded
variations of them make up the rest:

  * the sentences as written, in NFD, and with English, emoji, digits of
    several scripts or odd whitespace (tab, NBSP, U+3000, thin and zero-width
    spaces, U+2028, runs of spaces, leading and trailing) around them;
  * words drawn from the script's whole Unicode block (any assigned code
    point), so that many characters are ones the source SentencePiece model
    of opus-mt-en-mg does not know, alone and in runs, next to known ones;
  * mixed-script lines, combining marks on bases of every script, emoji ZWJ
    sequences, flags, skin tones, variation selectors;
  * MarianTokenizer's language codes: ">>xx<<" at the start, several on a
    line, in the middle, unclosed, empty;
  * lines longer than 511 pieces (truncation), some ending in unknown runs.

Every line is valid UTF-8 without NUL or '\\n' (other line breaks such as
'\\r', U+0085 and U+2028 do occur: split on '\\n' only). Literal special
tokens ("</s>", "<unk>", "<pad>"), which MarianTokenizer splits out before
SentencePiece, do not occur. test/tokenizers/marian_reference.py computes the
expected ids.

Usage: /usr/bin/python3 test/tokenizers/make_marian_corpus.py [OUT]
"""
import os
import random
import sys
import unicodedata

SEED = 20261129
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "marian_corpus.txt")

rng = random.Random(SEED)

# script name -> (Unicode block range, hand-written sentences)
SCRIPTS = {
    "thai": ((0x0E00, 0x0E7F), [
        "สวัสดีครับ ยินดีที่ได้รู้จัก",
        "วันนี้อากาศร้อนมาก",
        "ฉันชอบกินข้าวผัดกุ้ง",
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
        "เด็กผู้หญิงกำลังวิ่งเล่นอยู่ในสวนสาธารณะ",
        "ภาษาไทยมีพยัญชนะสี่สิบสี่ตัว",
        "พระมหากษัตริย์เสด็จเยือนต่างประเทศ",
        "ขอบคุณมากสำหรับความช่วยเหลือ",
        "รถไฟฟ้ามาถึงสถานีตรงเวลา",
        "ผู้ชายสองคนกำลังเล่นฟุตบอลบนชายหาด",
        "โรงเรียนของเราอยู่ใกล้แม่น้ำเจ้าพระยา",
        "ฤดูฝนเริ่มต้นในเดือนพฤษภาคม",
    ]),
    "hindi": ((0x0900, 0x097F), [
        "नमस्ते, आप कैसे हैं?",
        "मेरा नाम राहुल है और मैं दिल्ली में रहता हूँ।",
        "आज मौसम बहुत अच्छा है।",
        "भारत एक विशाल और विविधतापूर्ण देश है।",
        "बच्चे पार्क में खेल रहे हैं।",
        "कृपया मुझे पानी का एक गिलास दीजिए।",
        "हिंदी भाषा देवनागरी लिपि में लिखी जाती है।",
        "एक आदमी सड़क पर साइकिल चला रहा है।",
        "क्या आप मेरी मदद कर सकते हैं?",
        "गंगा नदी हिमालय से निकलती है।",
        "ट्रेन सुबह सात बजे स्टेशन पहुँचेगी।",
        "ज्ञान सबसे बड़ा धन है।",
    ]),
    "greek": ((0x0370, 0x03FF), [
        "Καλημέρα, τι κάνεις;",
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Ένας άντρας περπατά στην παραλία με τον σκύλο του.",
        "Μου αρέσει πολύ η ελληνική μουσική.",
        "Τα παιδιά παίζουν ποδόσφαιρο στο πάρκο.",
        "Ευχαριστώ πολύ για τη βοήθειά σου.",
        "Ο ήλιος λάμπει πάνω από τη θάλασσα.",
        "Πόσο κοστίζει αυτό το βιβλίο;",
        "Η γυναίκα διαβάζει εφημερίδα στο καφενείο.",
        "Ψάχνω τον σταθμό του μετρό.",
        "Ξέρεις πού είναι το ξενοδοχείο;",
        "Οι ευρωπαϊκοί θεσμοί συνεδριάζουν στις Βρυξέλλες.",
    ]),
    "korean": ((0xAC00, 0xD7A3), [
        "안녕하세요, 만나서 반갑습니다.",
        "오늘 날씨가 정말 좋네요.",
        "저는 서울에 살고 있습니다.",
        "한국어는 한글로 씁니다.",
        "아이들이 공원에서 놀고 있어요.",
        "이 책은 얼마예요?",
        "남자가 자전거를 타고 길을 가고 있다.",
        "도와주셔서 감사합니다.",
        "지하철역이 어디에 있나요?",
        "우리는 내일 부산으로 여행을 갑니다.",
        "김치찌개가 너무 맛있어요.",
        "여자가 카페에서 커피를 마시고 있다.",
    ]),
    "japanese": ((0x3040, 0x30FF), [
        "こんにちは、お元気ですか？",
        "東京は日本の首都です。",
        "私は毎朝コーヒーを飲みます。",
        "子供たちが公園で遊んでいます。",
        "この本はとても面白いです。",
        "駅までどうやって行けばいいですか？",
        "男性が自転車に乗って道を走っている。",
        "今日は雨が降っています。",
        "ありがとうございました。",
        "富士山は日本で一番高い山です。",
        "カタカナで「コンピューター」と書きます。",
        "彼女はピアノを弾くのが上手だ。",
    ]),
    "chinese": ((0x4E00, 0x9FFF), [
        "你好，很高兴认识你。",
        "北京是中国的首都。",
        "我每天早上喝一杯茶。",
        "孩子们在公园里玩耍。",
        "这本书非常有意思。",
        "一个男人骑着自行车在街上。",
        "今天的天气很好。",
        "请问火车站在哪里？",
        "谢谢你的帮助。",
        "长城是世界上最长的建筑之一。",
        "我們明天去台北旅遊。",
        "他们正在学习汉语和书法。",
    ]),
    "arabic": ((0x0600, 0x06FF), [
        "مرحبا، كيف حالك؟",
        "القاهرة هي عاصمة مصر.",
        "يلعب الأطفال في الحديقة.",
        "أحب قراءة الكتب في المساء.",
        "رجل يركب دراجة في الشارع.",
        "شكرا جزيلا على مساعدتك.",
        "الطقس جميل اليوم.",
        "أين محطة القطار؟",
        "اللغة العربية تكتب من اليمين إلى اليسار.",
        "تشرب المرأة القهوة في المقهى.",
        "بِسْمِ اللَّهِ الرَّحْمَنِ الرَّحِيمِ",
        "السَّلَامُ عَلَيْكُمْ وَرَحْمَةُ اللَّهِ",
    ]),
    "hebrew": ((0x0590, 0x05FF), [
        "שלום, מה שלומך?",
        "ירושלים היא עיר עתיקה.",
        "הילדים משחקים בפארק.",
        "אני אוהב לקרוא ספרים.",
        "איש רוכב על אופניים ברחוב.",
        "תודה רבה על העזרה.",
        "מזג האוויר יפה היום.",
        "איפה תחנת הרכבת?",
        "העברית נכתבת מימין לשמאל.",
        "אישה שותה קפה בבית הקפה.",
        "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם",
        "ספר טוב הוא חבר נאמן.",
    ]),
    "russian": ((0x0400, 0x04FF), [
        "Привет, как дела?",
        "Москва — столица России.",
        "Дети играют в парке.",
        "Я люблю читать книги по вечерам.",
        "Мужчина едет на велосипеде по улице.",
        "Спасибо большое за помощь.",
        "Сегодня хорошая погода.",
        "Где находится железнодорожный вокзал?",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Женщина пьёт кофе в кафе.",
        "Ёлка стоит в углу комнаты.",
        "Щука плавает в реке.",
    ]),
    "georgian": ((0x10A0, 0x10FF), [
        "გამარჯობა, როგორ ხარ?",
        "თბილისი საქართველოს დედაქალაქია.",
        "ბავშვები პარკში თამაშობენ.",
        "მე მიყვარს წიგნების კითხვა.",
        "დიდი მადლობა დახმარებისთვის.",
        "დღეს კარგი ამინდია.",
        "სად არის რკინიგზის სადგური?",
        "კაცი ქუჩაში ველოსიპედით მიდის.",
        "ქართული ენა ძალიან ლამაზია.",
        "ქალი კაფეში ყავას სვამს.",
    ]),
    "armenian": ((0x0530, 0x058F), [
        "Բարև, ինչպե՞ս ես։",
        "Երևանը Հայաստանի մայրաքաղաքն է։",
        "Երեխաները խաղում են այգում։",
        "Ես սիրում եմ գրքեր կարդալ։",
        "Շնորհակալություն օգնության համար։",
        "Այսօր եղանակը լավն է։",
        "Որտե՞ղ է երկաթուղային կայարանը։",
        "Տղամարդը հեծանիվ է քշում փողոցում։",
        "Հայերենն ունի իր այբուբենը։",
        "Կինը սուրճ է խմում սրճարանում։",
    ]),
    "amharic": ((0x1200, 0x137F), [
        "ሰላም፣ እንዴት ነህ?",
        "አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።",
        "ልጆቹ በመናፈሻው ውስጥ ይጫወታሉ።",
        "መጽሐፍ ማንበብ እወዳለሁ።",
        "ለእርዳታህ በጣም አመሰግናለሁ።",
        "ዛሬ የአየር ሁኔታው ጥሩ ነው።",
        "የባቡር ጣቢያው የት ነው?",
        "አንድ ሰው በመንገድ ላይ ብስክሌት ይነዳል።",
        "አማርኛ በግዕዝ ፊደል ይጻፋል።",
        "ሴትየዋ በካፌ ቡና ትጠጣለች።",
    ]),
    "tamil": ((0x0B80, 0x0BFF), [
        "வணக்கம், நீங்கள் எப்படி இருக்கிறீர்கள்?",
        "சென்னை தமிழ்நாட்டின் தலைநகரம்.",
        "குழந்தைகள் பூங்காவில் விளையாடுகிறார்கள்.",
        "நான் புத்தகங்கள் படிக்க விரும்புகிறேன்.",
        "உங்கள் உதவிக்கு மிக்க நன்றி.",
        "இன்று வானிலை நன்றாக இருக்கிறது.",
        "ரயில் நிலையம் எங்கே இருக்கிறது?",
        "ஒரு மனிதன் தெருவில் மிதிவண்டி ஓட்டுகிறான்.",
        "தமிழ் ஒரு பழமையான மொழி.",
        "ஒரு பெண் காபி குடிக்கிறாள்.",
    ]),
    "bengali": ((0x0980, 0x09FF), [
        "নমস্কার, আপনি কেমন আছেন?",
        "ঢাকা বাংলাদেশের রাজধানী।",
        "শিশুরা পার্কে খেলা করছে।",
        "আমি বই পড়তে ভালোবাসি।",
        "আপনার সাহায্যের জন্য অনেক ধন্যবাদ।",
        "আজ আবহাওয়া খুব ভালো।",
        "রেল স্টেশন কোথায়?",
        "একজন লোক রাস্তায় সাইকেল চালাচ্ছে।",
        "বাংলা ভাষা খুব মিষ্টি।",
        "মহিলাটি ক্যাফেতে কফি পান করছেন।",
    ]),
}

ENGLISH = [
    "Hello, world!", "The weather is nice today.", "A man rides a bicycle down the street.",
    "Thank you very much.", "Where is the train station?", "I like green tea.",
    "Two dogs play in the snow.", "See you tomorrow at 10:30.",
]
EMOJI = ["😀", "🎉", "👍", "❤️", "🇬🇷", "🇯🇵", "👩‍💻", "👨‍👩‍👧‍👦", "👍🏽", "🙏🏿", "☕", "🍜",
         "✈️", "🏳️‍🌈", "1️⃣", "©️", "🤖", "🐍"]
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "௦௧௨௩௪௫௬௭௮௯",
          "๐๑๒๓๔๕๖๗๘๙", "０１２３４５６７８９", "፩፪፫፬፭", "3.14159", "1,000,000", "2026-11-29"]
SPACES = ["\t", "\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\u0085", "\r", "  ", "    ",
          "\u2002", "\u202f", "\ufeff", "\u200d", "\u200c", "\u180e", "\u00ad"]
COMBINING = [chr(c) for c in range(0x0300, 0x0370)] + ["\u093c", "\u0e31", "\u0e48", "\u05b0",
                                                        "\u064b", "\u0bcd", "\u09bc", "\u20dd",
                                                        "\ufe0f", "\u1ab0", "\u1dc0"]
CODES = [">>fra<<", ">>mlg<<", ">>deu<<", ">>zho_Hans<<", ">>x<<", ">>ελλ<<", ">>日本<<"]


def assigned(lo, hi):
    """The assigned code points of a block (no Cn, Cs, Co, Cc)."""
    return [chr(c) for c in range(lo, hi + 1)
            if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co", "Cc")]


BLOCKS = {name: assigned(*block) for name, (block, _) in SCRIPTS.items()}
ALL_SENTENCES = [s for _, sents in SCRIPTS.values() for s in sents]


def random_word(chars, lo=1, hi=8):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def random_words(chars, n_lo=1, n_hi=6):
    return " ".join(random_word(chars) for _ in range(rng.randint(n_lo, n_hi)))


def decorate(s):
    """s with English, emoji, digits or odd whitespace somewhere around it."""
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(ENGLISH) + " " + s
    if kind == 1:
        return s + " " + "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
    if kind == 2:
        return rng.choice(DIGITS) + " " + s + " " + rng.choice(DIGITS)
    if kind == 3:
        words = s.split(" ")
        return "".join(w + rng.choice(SPACES + [" "]) for w in words)
    if kind == 4:
        return rng.choice(SPACES) + s + rng.choice(SPACES)
    return s + " (" + rng.choice(ENGLISH) + ")"


def combining_line():
    """Bases of several scripts with combining marks stacked on them."""
    bases = [rng.choice(BLOCKS[rng.choice(list(BLOCKS))] + list("aeiouxyzAEIOU"))
             for _ in range(rng.randint(1, 8))]
    out = []
    for b in bases:
        out.append(b + "".join(rng.choice(COMBINING) for _ in range(rng.randint(0, 3))))
        if rng.random() < 0.3:
            out.append(" ")
    if rng.random() < 0.2:
        out.insert(0, rng.choice(COMBINING))  # a mark with no base
    return "".join(out)


def language_code_line():
    """Lines that exercise MarianTokenizer's ">>.+<<" (greedy, not across lines)."""
    s = rng.choice(ALL_SENTENCES)
    t = rng.choice(ALL_SENTENCES + ENGLISH)
    code = rng.choice(CODES)
    forms = [
        code + " " + s,
        code + s,
        code + " " + s + " " + rng.choice(CODES) + " " + t,
        s + " " + code + " " + t,
        ">>" + s,
        ">><< " + s,
        ">>a<<< " + s,
        ">>>x<< " + s,
        code + "\r" + s + " " + rng.choice(CODES),
        code + "\u2028" + s + "<<",
        "<<" + s + ">>",
        " " + code + " " + s,
        code,
        code + " " + code,
    ]
    return rng.choice(forms)


def long_line():
    """Text of 600-2,000 pieces, ending in known or unknown characters."""
    kind = rng.randrange(3)
    if kind == 0:
        parts = [rng.choice(ALL_SENTENCES + ENGLISH) for _ in range(rng.randint(40, 90))]
        return " ".join(parts)
    if kind == 1:
        block = BLOCKS[rng.choice(list(BLOCKS))]
        return " ".join(random_word(block, 2, 12) for _ in range(rng.randint(150, 400)))
    parts = [rng.choice(ALL_SENTENCES) for _ in range(rng.randint(40, 60))]
    return " ".join(parts) + random_word(BLOCKS[rng.choice(list(BLOCKS))], 50, 200)


def main():
    lines = []
    for name, (_, sentences) in SCRIPTS.items():
        block = BLOCKS[name]
        for s in sentences:
            lines.append(s)
            lines.append(unicodedata.normalize("NFD", s))
            for _ in range(3):
                lines.append(decorate(s))
        for _ in range(50):
            lines.append(random_words(block))
        for _ in range(20):
            # a real sentence with random characters of its script inserted
            s = list(rng.choice(sentences))
            for _ in range(rng.randint(1, 4)):
                s.insert(rng.randrange(len(s) + 1), random_word(block, 1, 3))
            lines.append("".join(s))
    for _ in range(300):
        names = rng.sample(list(SCRIPTS), rng.randint(2, 4))
        words = []
        for n in names:
            words += rng.choice(SCRIPTS[n][1]).split(" ")[:rng.randint(1, 4)]
            if rng.random() < 0.5:
                words.append(random_word(BLOCKS[n], 1, 4))
        if rng.random() < 0.5:
            words.append(rng.choice(EMOJI))
        if rng.random() < 0.3:
            words.insert(0, rng.choice(ENGLISH))
        rng.shuffle(words)
        lines.append(" ".join(words))
    for _ in range(150):
        lines.append(combining_line())
    for _ in range(120):
        lines.append(language_code_line())
    for _ in range(30):
        lines.append(long_line())
    lines += ["", " ", "\t", "\u3000", "😀", "😀😀😀", "ษ", "ษษษ", "a ษb", "ﬁ ＡＢ",
              "\u0301", "ष्", "▁", "▁ษ▁", "한", "하", "日本", "x\u0301y"]

    for line in lines:
        assert "\n" not in line and "\0" not in line, repr(line)
        for special in ("</s>", "<unk>", "<pad>"):
            assert special not in line, repr(line)
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        for line in lines:
            f.write(line + "\n")
    print("%s: %d lines" % (OUT, len(lines)))


main()
