"""Published test cards of every network the vault recognises, and the ways people write them."""

# Published test cards of every network the vault recognises, with the network each belongs to.
TEST_CARDS = {
    "4111111111111111": "Visa",
    "4242424242424242": "Visa",
    "4012888888881881": "Visa",
    "4000056655665556": "Visa",
    "4917610000000000003": "Visa",
    "5555555555554444": "Mastercard",
    "5105105105105100": "Mastercard",
    "2223003122003222": "Mastercard",
    "5200828282828210": "Mastercard",
    "378282246310005": "AmericanExpress",
    "371449635398431": "AmericanExpress",
    "378734493671000": "AmericanExpress",
    "6011111111111117": "Discover",
    "6011000990139424": "Discover",
    "6445644564456445": "Discover",
    "3530111333300000": "JCB",
    "3566002020360505": "JCB",
    "30569309025904": "DinersClub",
    "38520000023237": "DinersClub",
    "36227206271667": "DinersClub",
    "3056930009020004": "DinersClub",
    "6200000000000005": "UnionPay",
    "6205500000000000004": "UnionPay",
    "6250941006528599": "UnionPay",
    "8171999927660000": "UnionPay",
    "6759649826438453": "Maestro",
    "5018000000000009": "Maestro",
    "6304000000000000": "Maestro",
    "501800000009": "Maestro",
    "675964982643844": "Maestro",
    "6521500000000006": "RuPay",
    "6074000000000008": "RuPay",
    "5085000000000007": "RuPay",
    # Networks without a range of their own in the table: cards of 16 to 19 digits all the same.
    "2200240000000006": None,  # Mir
    "6363680000000007": None,  # Elo
    "6062820000000003": None,  # Hipercard
    "9792000000000003": None,  # Troy
}


def grouped(number: str, separator: str, size: int = 4) -> str:
    return separator.join(number[i : i + size] for i in range(0, len(number), size))


def spellings(number: str) -> list[str]:
    """The ways people write a card number: bare, in fours by spaces or dashes, in 4-6-5 for Amex.
    (Dots are not a card number's separator here: a decimal number is written with one.)"""
    return [
        number,
        grouped(number, " "),
        grouped(number, "-"),
        f"{number[:4]} {number[4:10]} {number[10:]}",
    ]
