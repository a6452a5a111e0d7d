"""Embedded reference tables from which `manifests.generate` draws sample documents.

Owns the per-economy profiles (company name parts, cities and streets, sea and
air UN/LOCODEs, customs office codes, identifier schemes, certificate issuing
authorities, currency), the airlines and shipping lines, the commodity table
(real 6-digit HS 2022 subheadings with descriptions, packaging, masses and unit
prices), and the transit corridors between economies.

The data is illustrative: UN/LOCODEs and HS codes are real-looking (most are
real), but customs office codes, company names, addresses and prices are made
up and must not be mistaken for the administrations' or traders' records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class City:
    name: str
    postcode: str | None
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EconomyProfile:
    """What the generator needs to make plausible documents for one economy."""

    code: str
    name_stems: tuple[str, ...]
    name_sectors: tuple[str, ...]
    # "{stem}" and "{sector}" are filled in; e.g. "{stem} {sector} LLP" or "PT {stem} {sector}".
    name_templates: tuple[str, ...]
    cities: tuple[City, ...]
    seaports: tuple[str, ...]
    airports: tuple[str, ...]
    customs_offices: tuple[str, ...]
    tax_scheme: str  # PartyIdentifier scheme
    tax_id_digits: int
    issuing_authority: str
    currency: str
    usd_rate: float  # units of `currency` per US dollar, rounded
    caspian: bool = False  # its seaports are on the Caspian Sea (no ocean access)


_SECTORS: Final = (
    "Trade",
    "Logistics",
    "Export",
    "Industries",
    "Agro",
    "Metals",
    "Textile",
    "Machinery",
    "Foods",
    "Commodities",
)

ECONOMY_PROFILES: Final[dict[str, EconomyProfile]] = {
    profile.code: profile
    for profile in (
        EconomyProfile(
            code="KZ",
            name_stems=(
                "Altyn",
                "Saryarka",
                "Alatau",
                "Zhibek Zholy",
                "Irtysh",
                "Steppe",
                "Caspian",
            ),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} LLP", "{stem} {sector} JSC", "TOO {stem} {sector}"),
            cities=(
                City("Almaty", "050000", ("Abay Avenue", "Dostyk Avenue", "Tole Bi Street")),
                City("Astana", "010000", ("Kabanbay Batyr Avenue", "Mangilik El Avenue")),
                City("Aktau", "130000", ("14th Microdistrict", "Industrial Zone 5")),
                City("Shymkent", "160000", ("Tauke Khan Avenue", "Baidibek Bi Street")),
            ),
            seaports=("KZSCO",),
            airports=("KZALA",),
            customs_offices=("KZ551100", "KZ750100", "KZ470100", "KZ580100"),
            tax_scheme="BIN",
            tax_id_digits=12,
            issuing_authority="Chamber of Commerce and Industry of the Republic of Kazakhstan",
            currency="KZT",
            usd_rate=500,
            caspian=True,
        ),
        EconomyProfile(
            code="UZ",
            name_stems=("Silk Road", "Samarkand", "Turon", "Navoi", "Fergana", "Buxoro"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} LLC", "{stem} {sector} JSC", "{stem} {sector} MChJ"),
            cities=(
                City("Tashkent", "100000", ("Amir Temur Street", "Mustaqillik Avenue")),
                City("Samarkand", "140100", ("Registan Street", "Universitet Boulevard")),
                City("Navoi", "210100", ("Galaba Avenue", "Free Economic Zone Road")),
            ),
            seaports=(),
            airports=("UZTAS", "UZNVI", "UZSKD"),
            customs_offices=("UZ260100", "UZ270100", "UZ100100"),
            tax_scheme="TIN",
            tax_id_digits=9,
            issuing_authority="Chamber of Commerce and Industry of Uzbekistan",
            currency="UZS",
            usd_rate=12_600,
        ),
        EconomyProfile(
            code="AZ",
            name_stems=("Absheron", "Shirvan", "Qarabağ", "Ganja", "Caspian Gate"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} LLC", "{stem} {sector} MMC", "{stem} {sector} OJSC"),
            cities=(
                City("Baku", "AZ1000", ("Neftchilar Avenue", "Heydar Aliyev Avenue")),
                City("Ganja", "AZ2000", ("Ataturk Avenue", "Javad Khan Street")),
                City("Alat", "AZ0116", ("Port Road", "Free Trade Zone Street")),
            ),
            seaports=("AZBAK",),
            airports=("AZBAK", "AZGYD"),
            customs_offices=("AZ100100", "AZ200100", "AZ300100"),
            tax_scheme="TIN",
            tax_id_digits=10,
            issuing_authority="Chamber of Commerce and Industry of the Republic of Azerbaijan",
            currency="AZN",
            usd_rate=1.7,
            caspian=True,
        ),
        EconomyProfile(
            code="KR",
            name_stems=("Hanil", "Daehan", "Hanbit", "Saehan", "Mirae", "Dongbang", "Gyeongin"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Co., Ltd.", "{stem} {sector} Corp."),
            cities=(
                City("Seoul", "04524", ("Sejong-daero", "Teheran-ro", "Eulji-ro")),
                City("Busan", "48058", ("Jungang-daero", "Haeundae-ro")),
                City("Incheon", "22382", ("Seohae-daero", "Songdo Gwahak-ro")),
            ),
            seaports=("KRPUS", "KRINC", "KRKAN"),
            airports=("KRINC", "KRSEL"),
            customs_offices=("KR020100", "KR030100", "KR040100"),
            tax_scheme="TIN",
            tax_id_digits=10,
            issuing_authority="Korea Customs Service",
            currency="KRW",
            usd_rate=1_350,
        ),
        EconomyProfile(
            code="CN",
            name_stems=("Zhongxin", "Huaxia", "Jinhai", "Tianshan", "Donghai", "Changjiang"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Co., Ltd.",),
            cities=(
                City("Shanghai", "200120", ("Century Avenue", "Yanggao Road")),
                City("Ningbo", "315000", ("Zhongshan Road", "Beilun Port Road")),
                City("Urumqi", "830000", ("Renmin Road", "Kashgar Road")),
                City("Lianyungang", "222000", ("Haitang Road", "Zhonghua Road")),
            ),
            seaports=("CNSHA", "CNNGB", "CNLYG"),
            airports=("CNSHA", "CNURC"),
            customs_offices=("CN650100", "CN310100", "CN320100"),
            tax_scheme="TIN",
            tax_id_digits=18,
            issuing_authority="China Council for the Promotion of International Trade",
            currency="CNY",
            usd_rate=7.2,
        ),
        EconomyProfile(
            code="TR",
            name_stems=("Anadolu", "Marmara", "Ege", "Toros", "Boğaziçi", "Kapadokya"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} A.Ş.", "{stem} {sector} Ltd. Şti."),
            cities=(
                City("İstanbul", "34000", ("Büyükdere Caddesi", "İstiklal Caddesi")),
                City("Mersin", "33000", ("Atatürk Caddesi", "Liman Yolu")),
                City("İzmir", "35000", ("Kordon Boyu", "Alsancak Caddesi")),
            ),
            seaports=("TRMER", "TRIST"),
            airports=("TRIST",),
            customs_offices=("TR340100", "TR330100", "TR350100"),
            tax_scheme="TIN",
            tax_id_digits=10,
            issuing_authority="Union of Chambers and Commodity Exchanges of Türkiye",
            currency="TRY",
            usd_rate=33,
        ),
        EconomyProfile(
            code="GE",
            name_stems=("Kartli", "Colchis", "Rioni", "Iberia", "Kakheti"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} LLC", "{stem} {sector} JSC"),
            cities=(
                City("Tbilisi", "0108", ("Rustaveli Avenue", "Chavchavadze Avenue")),
                City("Poti", "4400", ("Davit Aghmashenebeli Street", "Port Street")),
                City("Batumi", "6000", ("Gorgiladze Street", "Chavchavadze Street")),
            ),
            seaports=("GEPTI", "GEBUS"),
            airports=("GETBS",),
            customs_offices=("GE100100", "GE200100", "GE300100"),
            tax_scheme="TIN",
            tax_id_digits=9,
            issuing_authority="Georgian Chamber of Commerce and Industry",
            currency="GEL",
            usd_rate=2.7,
        ),
        EconomyProfile(
            code="DE",
            name_stems=("Nordhafen", "Rheinland", "Elbe", "Hanse", "Schwarzwald", "Weser"),
            name_sectors=("Handel", "Logistik", "Maschinenbau", "Chemie", "Spedition", "Export"),
            name_templates=(
                "{stem} {sector} GmbH",
                "{stem} {sector} AG",
                "{stem} {sector} GmbH & Co. KG",
            ),
            cities=(
                City("Hamburg", "20457", ("Am Sandtorkai", "Große Elbstraße")),
                City("Frankfurt am Main", "60549", ("Cargo City Süd", "Mainzer Landstraße")),
                City("München", "80331", ("Leopoldstraße", "Bayerstraße")),
            ),
            seaports=("DEHAM", "DEBRV"),
            airports=("DEFRA", "DEMUC"),
            customs_offices=("DE004800", "DE002900", "DE003300"),
            tax_scheme="EORI",
            tax_id_digits=12,
            issuing_authority="Handelskammer Hamburg",
            currency="EUR",
            usd_rate=0.92,
        ),
        EconomyProfile(
            code="NL",
            name_stems=("Maas", "Delta", "Zeeland", "Waal", "Holland Gate"),
            name_sectors=("Trading", "Logistics", "Foods", "Chemicals", "Shipping"),
            name_templates=("{stem} {sector} B.V.", "{stem} {sector} N.V."),
            cities=(
                City("Rotterdam", "3011 AA", ("Wilhelminakade", "Coolsingel")),
                City("Amsterdam", "1012 AB", ("Damrak", "Prins Hendrikkade")),
            ),
            seaports=("NLRTM",),
            airports=("NLAMS",),
            customs_offices=("NL000396", "NL000854"),
            tax_scheme="EORI",
            tax_id_digits=9,
            issuing_authority="Kamer van Koophandel",
            currency="EUR",
            usd_rate=0.92,
        ),
        EconomyProfile(
            code="VN",
            name_stems=("Saigon", "Mekong", "Hanoi", "Dong A", "Phu My", "Song Hong"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Co., Ltd", "{stem} {sector} JSC"),
            cities=(
                City("Ho Chi Minh City", "700000", ("Nguyen Hue Boulevard", "Le Duan Street")),
                City("Hai Phong", "180000", ("Lach Tray Street", "Dinh Vu Road")),
                City("Ha Noi", "100000", ("Trang Tien Street", "Kim Ma Street")),
            ),
            seaports=("VNSGN", "VNHPH"),
            airports=("VNSGN", "VNHAN"),
            customs_offices=("VN020100", "VN030100", "VN010100"),
            tax_scheme="TIN",
            tax_id_digits=10,
            issuing_authority="Ministry of Industry and Trade of Viet Nam",
            currency="VND",
            usd_rate=25_000,
        ),
        EconomyProfile(
            code="TH",
            name_stems=("Siam", "Chao Phraya", "Lanna", "Andaman", "Isan"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Co., Ltd.", "{stem} {sector} Public Co., Ltd."),
            cities=(
                City("Bangkok", "10110", ("Sukhumvit Road", "Rama IV Road", "Silom Road")),
                City("Chon Buri", "20230", ("Laem Chabang Port Road", "Sukhumvit Road")),
            ),
            seaports=("THLCH", "THBKK"),
            airports=("THBKK",),
            customs_offices=("TH280100", "TH100100", "TH020100"),
            tax_scheme="TIN",
            tax_id_digits=13,
            issuing_authority="Department of Foreign Trade",
            currency="THB",
            usd_rate=36,
        ),
        EconomyProfile(
            code="MY",
            name_stems=("Malaya", "Klang", "Borneo", "Penang", "Johor Strait"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Sdn. Bhd.", "{stem} {sector} Berhad"),
            cities=(
                City("Kuala Lumpur", "50450", ("Jalan Sultan Ismail", "Jalan Ampang")),
                City("Port Klang", "42000", ("Jalan Pelabuhan Utara", "Persiaran Raja Muda Musa")),
            ),
            seaports=("MYPKG", "MYPEN"),
            airports=("MYKUL",),
            customs_offices=("MYB10100", "MYW14100"),
            tax_scheme="TIN",
            tax_id_digits=12,
            issuing_authority="Ministry of Investment, Trade and Industry",
            currency="MYR",
            usd_rate=4.7,
        ),
        EconomyProfile(
            code="SG",
            name_stems=("Lion City", "Straits", "Marina", "Jurong", "Tanjong Pagar"),
            name_sectors=_SECTORS,
            name_templates=("{stem} {sector} Pte. Ltd.",),
            cities=(City("Singapore", "018956", ("Marina Boulevard", "Pasir Panjang Road")),),
            seaports=("SGSIN",),
            airports=("SGSIN",),
            customs_offices=("SG000100", "SG000200"),
            tax_scheme="TIN",
            tax_id_digits=9,
            issuing_authority="Singapore Customs",
            currency="SGD",
            usd_rate=1.35,
        ),
        EconomyProfile(
            code="ID",
            name_stems=("Nusantara", "Garuda Mas", "Sumber Makmur", "Bahari", "Cahaya Timur"),
            name_sectors=_SECTORS,
            name_templates=("PT {stem} {sector}", "PT {stem} {sector} Tbk"),
            cities=(
                City("Jakarta", "14310", ("Jalan Enggano", "Jalan Jenderal Sudirman")),
                City("Surabaya", "60165", ("Jalan Perak Timur", "Jalan Tanjung Perak")),
            ),
            seaports=("IDJKT", "IDSUB"),
            airports=("IDJKT", "IDCGK"),
            customs_offices=("ID040300", "ID070100"),
            tax_scheme="TIN",
            tax_id_digits=15,
            issuing_authority="Ministry of Trade of the Republic of Indonesia",
            currency="IDR",
            usd_rate=16_000,
        ),
    )
}

DEFAULT_ECONOMIES: Final[tuple[str, ...]] = (
    "KZ",
    "UZ",
    "AZ",
    "KR",
    "CN",
    "TR",
    "GE",
    "DE",
    "NL",
    "VN",
    "TH",
    "MY",
    "SG",
    "ID",
)


@dataclass(frozen=True, slots=True)
class Commodity:
    """A kind of goods: real HS 2022 subheading, description, packaging and price ranges."""

    hs6: str
    description: str
    package_kind: str
    kg_per_package: tuple[float, float]
    usd_per_kg: tuple[float, float]
    exporters: tuple[str, ...]


COMMODITIES: Final[tuple[Commodity, ...]] = (
    Commodity(
        "100199",
        "Wheat, other than durum or seed, in 50 kg bags",
        "BG",
        (50, 50),
        (0.22, 0.3),
        ("KZ",),
    ),
    Commodity(
        "520100",
        "Cotton, not carded or combed, in pressed bales",
        "BL",
        (200, 230),
        (1.6, 2.1),
        ("UZ", "KZ"),
    ),
    Commodity("740311", "Refined copper cathodes", "BE", (2000, 2600), (8.5, 9.8), ("KZ", "CN")),
    Commodity(
        "720241",
        "Ferro-chromium, containing by weight more than 4 % of carbon",
        "BG",
        (1000, 1000),
        (1.2, 1.6),
        ("KZ",),
    ),
    Commodity(
        "760110",
        "Unwrought aluminium, not alloyed, in ingots",
        "BE",
        (900, 1100),
        (2.2, 2.8),
        ("KZ", "CN", "AZ"),
    ),
    Commodity("080610", "Fresh table grapes", "CT", (8, 10), (1.2, 2.0), ("UZ", "TR")),
    Commodity("081310", "Dried apricots", "CT", (10, 12.5), (3, 5), ("UZ", "TR")),
    Commodity(
        "610910",
        "T-shirts, singlets and other vests of cotton, knitted",
        "CT",
        (12, 18),
        (9, 15),
        ("UZ", "CN", "VN", "TR"),
    ),
    Commodity(
        "090240",
        "Black tea (fermented), in packings exceeding 3 kg",
        "CS",
        (40, 60),
        (2.5, 4.5),
        ("AZ", "VN", "ID"),
    ),
    Commodity(
        "870323",
        "Passenger motor cars, spark-ignition, cylinder capacity 1 500 - 3 000 cc",
        "NE",
        (1300, 1700),
        (12, 22),
        ("KR", "DE", "CN"),
    ),
    Commodity("851713", "Smartphones", "CT", (8, 12), (150, 400), ("KR", "CN", "VN")),
    Commodity(
        "847130",
        "Portable automatic data-processing machines (laptops), not more than 10 kg",
        "CT",
        (10, 15),
        (120, 250),
        ("CN",),
    ),
    Commodity(
        "854143",
        "Photovoltaic cells assembled in modules or made up into panels",
        "PX",
        (550, 700),
        (4, 7),
        ("CN", "VN", "MY"),
    ),
    Commodity(
        "401110",
        "New pneumatic tyres of rubber, of a kind used on motor cars",
        "PX",
        (400, 600),
        (3, 5),
        ("KR", "CN", "TH"),
    ),
    Commodity(
        "400122",
        "Technically specified natural rubber (TSNR)",
        "BL",
        (33.33, 35),
        (1.5, 2.0),
        ("TH", "MY", "ID", "VN"),
    ),
    Commodity("151110", "Crude palm oil", "DR", (180, 190), (0.8, 1.1), ("MY", "ID")),
    Commodity(
        "090111", "Coffee, not roasted, not decaffeinated", "BG", (60, 60), (3, 6), ("VN", "ID")
    ),
    Commodity("030617", "Frozen shrimps and prawns", "CT", (10, 20), (7, 12), ("VN", "TH", "ID")),
    Commodity(
        "100630", "Semi-milled or wholly milled rice", "BG", (50, 50), (0.5, 0.7), ("TH", "VN")
    ),
    Commodity(
        "220421",
        "Wine of fresh grapes, in containers holding 2 l or less",
        "CS",
        (9, 16),
        (4, 9),
        ("GE", "DE"),
    ),
    Commodity(
        "300490",
        "Medicaments, in measured doses, put up for retail sale",
        "CT",
        (5, 15),
        (40, 150),
        ("DE", "KR", "TR"),
    ),
    Commodity(
        "842951",
        "Front-end shovel loaders, self-propelled",
        "NE",
        (9000, 16000),
        (6, 10),
        ("CN", "KR", "DE"),
    ),
    Commodity(
        "730429",
        "Seamless casing and tubing for oil or gas drilling, of iron or steel",
        "BE",
        (1500, 3000),
        (1.2, 2.0),
        ("CN", "TR", "DE"),
    ),
    Commodity(
        "310230",
        "Ammonium nitrate, whether or not in aqueous solution",
        "BG",
        (1000, 1000),
        (0.3, 0.5),
        ("UZ", "KZ", "GE"),
    ),
    Commodity("190531", "Sweet biscuits", "CT", (4, 8), (2, 4), ("TR", "DE", "KR")),
)


@dataclass(frozen=True, slots=True)
class Airline:
    designator: str
    awb_prefix: str
    name: str
    home: str


AIRLINES: Final[tuple[Airline, ...]] = (
    Airline("KC", "465", "Air Astana", "KZ"),
    Airline("HY", "250", "Uzbekistan Airways", "UZ"),
    Airline("7L", "501", "Silk Way West Airlines", "AZ"),
    Airline("KE", "180", "Korean Air", "KR"),
    Airline("OZ", "988", "Asiana Airlines", "KR"),
    Airline("CA", "999", "Air China", "CN"),
    Airline("TK", "235", "Turkish Airlines", "TR"),
    Airline("LH", "020", "Lufthansa Cargo", "DE"),
    Airline("KL", "074", "KLM Cargo", "NL"),
    Airline("VN", "738", "Vietnam Airlines", "VN"),
    Airline("TG", "217", "Thai Airways", "TH"),
    Airline("MH", "232", "Malaysia Airlines", "MY"),
    Airline("SQ", "618", "Singapore Airlines", "SG"),
    Airline("GA", "126", "Garuda Indonesia", "ID"),
)

# Bill of lading prefixes (SCAC-like carrier codes) and container owner codes (ISO 6346).
BL_PREFIXES: Final = ("MSCU", "MAEU", "CMDU", "HLCU", "COSU", "HDMU", "ONEY", "EGLV")
CONTAINER_OWNERS: Final = ("MSCU", "MRKU", "CMAU", "HLXU", "CSNU", "TGHU", "TCLU", "ONEU", "EGHU")
CONTAINER_SIZE_TYPES: Final = ("22G1", "42G1", "45G1", "22R1", "45R1")
VESSEL_NAMES: Final = (
    "CASPIAN PIONEER",
    "AKTAU EXPRESS",
    "SILK WAVE",
    "STEPPE CARRIER",
    "KORYO BRIDGE",
    "PACIFIC HARMONY",
    "ORIENT FORTUNE",
    "NORDIC SPIRIT",
    "ANATOLIAN SUN",
    "MEKONG STAR",
    "STRAITS VENTURE",
    "BLACK SEA TRADER",
)
FLAG_STATES: Final = ("PA", "LR", "MH", "MT", "SG", "HK", "KZ", "AZ", "KR", "TR")
OCEAN_HUBS: Final = ("SG", "AE", "EG", "MY")
AIR_HUBS: Final = ("AE", "TR", "QA")

# Land, rail and ferry links along which transit movements are generated
# (Middle Corridor, Central Asia, ASEAN, EU).
TRANSIT_LINKS: Final[tuple[tuple[str, str], ...]] = (
    ("CN", "KZ"),
    ("KZ", "UZ"),
    ("KZ", "AZ"),  # Caspian ferry Aktau/Kuryk - Alat
    ("AZ", "GE"),
    ("GE", "TR"),
    ("KR", "CN"),  # sea-rail via Lianyungang
    ("CN", "VN"),
    ("TH", "MY"),
    ("MY", "SG"),
    ("DE", "NL"),
)

EAEU_MEMBERS: Final = frozenset({"AM", "BY", "KG", "KZ", "RU"})
EU_MEMBERS: Final = frozenset({"DE", "NL"})  # only the members the tables know

SIGNATORIES: Final[dict[str, tuple[str, ...]]] = {
    "KZ": ("Aigerim Nurlanovna", "Daniyar Seitkali"),
    "UZ": ("Bakhtiyor Karimov", "Dilnoza Rashidova"),
    "AZ": ("Leyla Mammadova", "Rashad Aliyev"),
    "KR": ("Kim Min-jun", "Park Ji-yeon"),
    "CN": ("Wang Lei", "Li Na"),
    "TR": ("Ayşe Yılmaz", "Mehmet Demir"),  # noqa: RUF001 (Turkish dotless i)
    "GE": ("Nino Beridze", "Giorgi Kapanadze"),
    "DE": ("Jonas Becker", "Anna Schmidt"),
    "NL": ("Sanne de Vries", "Pieter Jansen"),
    "VN": ("Nguyen Thi Lan", "Tran Van Minh"),
    "TH": ("Somchai Wongsakul", "Kanya Srisuk"),
    "MY": ("Nurul Aisyah", "Lim Chee Keong"),
    "SG": ("Tan Wei Ming", "Priya Nair"),
    "ID": ("Dewi Lestari", "Budi Santoso"),
}
"""Names of signatories and certifying officers, per economy."""
