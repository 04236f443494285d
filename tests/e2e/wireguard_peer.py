"""A minimal WireGuard initiator for tests (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as in the WireGuard
paper, section 5.4): the handshake, then UDP datagrams inside the tunnel. Enough to show that the
bridge's WireGuard server accepts the client configuration it wrote and carries traffic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"


def _hash(*parts: bytes) -> bytes:
    return hashlib.blake2s(b"".join(parts)).digest()


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.blake2s).digest()


def _kdf(key: bytes, data: bytes, n: int) -> list[bytes]:
    t0, out, prev = _hmac(key, data), [], b""
    for i in range(1, n + 1):
        prev = _hmac(t0, prev + bytes([i]))
        out.append(prev)
    return out


def _aead(key: bytes, counter: int, plain: bytes, auth: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, auth)


def _open(key: bytes, counter: int, sealed: bytes, auth: bytes) -> bytes:
    return ChaCha20Poly1305(key).decrypt(b"\0" * 4 + struct.pack("<Q", counter), sealed, auth)


def _raw(pub: X25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _tai64n() -> bytes:
    now = time.time_ns()
    return struct.pack(">QI", 2**62 + 10 + now // 10**9, now % 10**9)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_packet(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4 packet carrying one UDP datagram (UDP checksum 0: optional over IPv4)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src),
                         socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp


def tcp_packet(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
               payload: bytes = b"") -> bytes:
    """An IPv4 packet carrying one TCP segment (flags: FIN 1, SYN 2, PSH 8, ACK 16)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, socket.inet_aton(src),
                         socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + tcp


def udp_payload(packet: bytes) -> bytes:
    ihl = (packet[0] & 0x0F) * 4
    assert packet[9] == 17, "not UDP"
    return packet[ihl + 8:]


class Peer:
    def __init__(self, client_private_key: str, server_public_key: str, endpoint: tuple[str, int]) -> None:
        self.static = X25519PrivateKey.from_private_bytes(base64.b64decode(client_private_key))
        self.server = X25519PublicKey.from_public_bytes(base64.b64decode(server_public_key))
        self.endpoint = endpoint
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(10)
        self.index = int.from_bytes(os.urandom(4), "little")
        self.send_key = self.recv_key = b""
        self.remote_index = 0
        self.counter = 0

    def close(self) -> None:
        self.sock.close()

    def handshake(self) -> None:
        """Sends the initiation, checks the response; raises when the server does not answer or its
        answer does not decrypt (so it does not hold the server key, or refused our static key)."""
        server = _raw(self.server)
        c = _hash(CONSTRUCTION)
        h = _hash(_hash(c, IDENTIFIER), server)
        eph = X25519PrivateKey.generate()
        eph_pub = _raw(eph.public_key())
        (c,) = _kdf(c, eph_pub, 1)
        h = _hash(h, eph_pub)
        c, k = _kdf(c, eph.exchange(self.server), 2)
        static = _aead(k, 0, _raw(self.static.public_key()), h)
        h = _hash(h, static)
        c, k = _kdf(c, self.static.exchange(self.server), 2)
        stamp = _aead(k, 0, _tai64n(), h)
        h = _hash(h, stamp)
        msg = struct.pack("<I", 1) + struct.pack("<I", self.index) + eph_pub + static + stamp
        msg += hmac_mac(_hash(LABEL_MAC1, server), msg) + b"\0" * 16
        self.sock.sendto(msg, self.endpoint)
        resp, _ = self.sock.recvfrom(2048)
        if len(resp) != 92 or resp[0] != 2 or struct.unpack("<I", resp[8:12])[0] != self.index:
            raise ValueError(f"not a handshake response: {resp[:16].hex()}")
        self.remote_index = struct.unpack("<I", resp[4:8])[0]
        r_eph = resp[12:44]
        (c,) = _kdf(c, r_eph, 1)
        h = _hash(h, r_eph)
        r_eph_key = X25519PublicKey.from_public_bytes(r_eph)
        (c,) = _kdf(c, eph.exchange(r_eph_key), 1)
        (c,) = _kdf(c, self.static.exchange(r_eph_key), 1)
        c, t, k = _kdf(c, b"\0" * 32, 3)
        h = _hash(h, t)
        _open(k, 0, resp[44:60], h)  # the empty payload: raises InvalidTag unless the keys agree
        self.send_key, self.recv_key = _kdf(c, b"", 2)

    def send(self, packet: bytes) -> None:
        padded = packet + b"\0" * (-len(packet) % 16)
        data = struct.pack("<II", 4, self.remote_index) + struct.pack("<Q", self.counter)
        self.sock.sendto(data + _aead(self.send_key, self.counter, padded, b""), self.endpoint)
        self.counter += 1

    def receive(self) -> bytes:
        """The next IP packet from the tunnel (keep-alives skipped)."""
        for _ in range(20):
            data, _ = self.sock.recvfrom(65535)
            if data[0] != 4:
                continue
            counter = struct.unpack("<Q", data[8:16])[0]
            packet = _open(self.recv_key, counter, data[16:], b"")
            if packet:
                length = struct.unpack("!H", packet[2:4])[0]
                return packet[:length]
        raise TimeoutError("no packet from the tunnel")


def http_over_tunnel(peer: Peer, dst: str, request: bytes, src: str = "10.0.0.1", sport: int = 41000) -> bytes:
    """One plain-HTTP exchange over a minimal TCP client inside the tunnel (in-order delivery assumed:
    a loopback UDP path); returns the answer once complete (Content-Length) or the server closed."""
    seq = int.from_bytes(os.urandom(4), "big")
    peer.send(tcp_packet(src, dst, sport, 80, seq, 0, 2))
    syn_ack = peer.receive()
    ihl = (syn_ack[0] & 0x0F) * 4
    their_seq, flags = struct.unpack("!I", syn_ack[ihl + 4:ihl + 8])[0], syn_ack[ihl + 13]
    if flags & 0x12 != 0x12:
        raise ValueError(f"no SYN-ACK: flags {flags:#x}")
    seq, ack = seq + 1, their_seq + 1
    peer.send(tcp_packet(src, dst, sport, 80, seq, ack, 0x18, request))
    seq += len(request)
    received = b""
    for _ in range(1000):
        packet = peer.receive()
        ihl = (packet[0] & 0x0F) * 4
        if packet[9] != 6:
            continue
        segment = packet[ihl:]
        offset = (segment[12] >> 4) * 4
        their_seq, flags, data = struct.unpack("!I", segment[4:8])[0], segment[13], segment[offset:]
        if data and their_seq == ack:
            received += data
            ack += len(data)
        if flags & 0x04:
            raise ConnectionResetError("RST from the tunnel")
        done = _complete(received) or flags & 0x01 and their_seq + len(data) == ack  # FIN after all data
        peer.send(tcp_packet(src, dst, sport, 80, seq, ack, 0x11 if done else 0x10))
        if done:
            return received
    raise TimeoutError("no complete answer")


def _complete(received: bytes) -> bool:
    """A whole HTTP/1.1 answer with a Content-Length body."""
    head, sep, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:] if sep else []:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def hmac_mac(key: bytes, data: bytes) -> bytes:
    """WireGuard's MAC: keyed BLAKE2s with a 16-byte digest."""
    return hashlib.blake2s(data, digest_size=16, key=key).digest()
