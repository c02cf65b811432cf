"""CardSecret answers what services need without giving the digits away."""

from tokens.crypto import CardSecret


def test_a_card_secret_answers_isin_last4_network_and_masked():
    secret = CardSecret("4111111111111111")
    assert (secret.isin, secret.last4, secret.network) == ("4111", "1111", "Visa")
    assert secret.masked == "4111********1111"
    assert CardSecret("5555555555554444").network == "Mastercard"
    assert CardSecret("9999999999999995").network is None


def test_a_network_token_joins_the_card_without_changing_it():
    secret = CardSecret("4111111111111111")
    with_token = secret.with_network_token("4895370000000013")
    assert with_token.number == secret.number and with_token.token_number == "4895370000000013"
    assert secret.token_number is None
    assert "4895370000000013" not in repr(with_token) and "4111111111111111" not in str(with_token)
