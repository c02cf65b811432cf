"""A DNS server on a loopback UDP port for the proxy's SSRF tests: each name answers from a script,
one answer set per query in turn (the last one repeats), so a test can play a rebinding resolver."""

import socket
import threading

import dns.message
import dns.rdatatype
import dns.rrset


class ScriptedDnsServer:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.scripts: dict[str, list[list[str]]] = {}
        self.queries: list[tuple[str, str]] = []  # (name, type) in the order asked
        self._served: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, name: str, *answers: list[str]) -> None:
        """Answer *name* with answers[0] on its first A query, answers[1] on the next, and so on."""
        self.scripts[name.rstrip(".").lower()] = list(answers)
        self._served[name.rstrip(".").lower()] = 0

    def a_queries(self, name: str) -> int:
        return sum(1 for asked, kind in self.queries if asked == name and kind == "A")

    def _answer(self, name: str, kind: str) -> list[str]:
        script = self.scripts.get(name)
        if not script or kind != "A":
            return []  # IPv4 only: AAAA gets an empty answer
        index = min(self._served[name], len(script) - 1)
        self._served[name] += 1
        return script[index]

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, kind))
            response = dns.message.make_response(query)
            addresses = self._answer(name, kind)
            if addresses:
                response.answer.append(dns.rrset.from_text_list(question.name, 0, "IN", "A", addresses))
            self.socket.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()
