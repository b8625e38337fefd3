// SPDX-License-Identifier: MIT
// Hand-written encoders for status and heartbeat messages (see fast_codec.hpp). Every rule here
// reproduces what nlohmann::ordered_json::dump(-1, ' ', false, error_handler_t::replace) writes
// for the tree codec.cpp builds; tests/libtcs/protocol_test.cpp compares the two on the upstream
// vectors and on random payloads.
#include "fast_codec.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "json_io.hpp"

namespace tcs::protocol::detail {
namespace {

// Length of the well-formed UTF-8 sequence (Unicode table 3-7) starting at @p p, whose first
// byte is >= 0x80; 0 when it is not well-formed (nlohmann's decoder rejects exactly these).
std::size_t utf8Length(const unsigned char* p, const unsigned char* end) noexcept {
  const auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  const unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// Whether one of the 8 bytes of @p w is < 0x20, '"', '\\' or >= 0x80 (bit tricks: a byte of
// `x - 0x01…` & ~x & 0x80… is non-zero exactly when the byte of x is zero, or less than n for
// `x - n…`, n <= 0x80).
constexpr bool needsAttention(std::uint64_t w) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  const auto zeroByte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const std::uint64_t control = (w - kOnes * 0x20) & ~w & kHigh;
  return ((w & kHigh) | control | zeroByte(w ^ (kOnes * '"')) | zeroByte(w ^ (kOnes * '\\'))) != 0;
}

// Appends to a std::string through a raw pointer: room is made (by doubling) before each piece,
// and the string's size is set once at the end. About twice as fast as std::string::append per
// piece, which dominates for messages of a few hundred bytes.
class Writer {
 public:
  explicit Writer(std::string& out, std::size_t expected) : out_(out) {
    out_.resize(std::max(out_.capacity(), expected));
    p_ = out_.data();
    end_ = p_ + out_.size();
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

  // Makes room for @p n more bytes.
  void room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
  }
  void put(char c) {
    room(1);
    *p_++ = c;
  }
  // A literal (keys and punctuation): its length is a constant, so the copy is a few moves.
  template <std::size_t N>
  void put(const char (&literal)[N]) {
    room(N - 1);
    std::memcpy(p_, literal, N - 1);
    p_ += N - 1;
  }
  void put(std::string_view s) {
    room(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  // A JSON string as nlohmann writes it with ensure_ascii = false: `"` `\` and the control
  // characters escaped (\b \t \n \f \r, else \u00xx in lower-case hex), everything else, 0x7F
  // and valid multi-byte sequences included, copied. @return false for invalid UTF-8.
  [[nodiscard]] bool string(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    room(s.size() + 2);  // more when there is something to escape
    // Through a local pointer: stores through char* could alias p_, which would then be
    // reloaded and stored for every byte.
    char* o = p_;
    *o++ = '"';
    const auto* in = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = in + s.size();
    while (in != end) {
      // Eight plain bytes at a time (no control character, quote, backslash or byte >= 0x80).
      while (end - in >= 8) {
        std::uint64_t w;
        std::memcpy(&w, in, 8);
        if (needsAttention(w)) break;
        std::memcpy(o, in, 8);
        o += 8;
        in += 8;
      }
      if (in == end) break;
      const unsigned char c = *in;
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
        *o++ = static_cast<char>(c);
        ++in;
        continue;
      }
      if (c >= 0x80) {
        const std::size_t n = utf8Length(in, end);
        if (n == 0) {
          p_ = o;
          return false;
        }
        std::memcpy(o, in, n);
        o += n;
        in += n;
        continue;
      }
      p_ = o;
      room(6 + static_cast<std::size_t>(end - in));  // this escape, the rest and the quote
      o = p_;
      *o++ = '\\';
      switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\t': *o++ = 't'; break;
        case '\n': *o++ = 'n'; break;
        case '\f': *o++ = 'f'; break;
        case '\r': *o++ = 'r'; break;
        default:
          *o++ = 'u';
          *o++ = '0';
          *o++ = '0';
          *o++ = kHex[c >> 4];
          *o++ = kHex[c & 0xF];
      }
      ++in;
    }
    *o++ = '"';
    p_ = o;
    return true;
  }

  template <class I>
  void integer(I value) {
    room(24);
    p_ = std::to_chars(p_, end_, value).ptr;
  }

  // Doubles are rare (heartbeat uptime): nlohmann's own number format (grisu2, `1.0`, `1e-05`,
  // `null` for NaN and infinities) keeps them identical without re-implementing it.
  void number(double value) { put(Json(value).dump()); }

  void timestamp(Timestamp ts) {
    // Messages come in bursts within one second: the first six fields are the same, so their
    // text is kept per thread and only the microseconds are written (toFields() and six
    // integer conversions were a fifth of the monitor thread's time per status message).
    // initial-exec: no __tls_get_addr call per access from this shared library (a few bytes
    // of static TLS).
    [[gnu::tls_model("initial-exec")]] thread_local std::int64_t cachedSecond =
        std::numeric_limits<std::int64_t>::min();
    [[gnu::tls_model("initial-exec")]] thread_local char prefix[7 * 21 + 8];
    [[gnu::tls_model("initial-exec")]] thread_local std::size_t prefixLength = 0;
    const auto second = std::chrono::floor<std::chrono::seconds>(ts);
    const std::int64_t secondCount = second.time_since_epoch().count();
    if (secondCount != cachedSecond) {
      const auto f = toFields(ts);
      char* o = prefix;
      *o++ = '[';
      for (std::size_t i = 0; i < 6; ++i) {
        o = std::to_chars(o, prefix + sizeof prefix, f[i]).ptr;
        *o++ = ',';
      }
      prefixLength = static_cast<std::size_t>(o - prefix);
      cachedSecond = secondCount;
    }
    room(prefixLength + 8);
    char* o = p_;  // a local pointer, as in string()
    std::memcpy(o, prefix, prefixLength);
    o += prefixLength;
    auto u = static_cast<unsigned>((ts - second).count());  // 0 … 999999
    char digits[6];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    while (n > 0) *o++ = digits[--n];
    *o++ = ']';
    p_ = o;
  }

  void status(Status s) {
    const std::string_view word = toString(s);  // lower-case ASCII words: nothing to escape
    room(word.size() + 2);
    char* o = p_;
    *o++ = '"';
    std::memcpy(o, word.data(), word.size());
    o += word.size();
    *o++ = '"';
    p_ = o;
  }

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    const auto used = static_cast<std::size_t>(p_ - out_.data());
    out_.resize(std::max(2 * out_.size(), used + n));
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }

  std::string& out_;
  char* p_;
  char* end_;
};

// The keys of a report up to `parent` (codec.cpp's writeReport), without the closing brace.
[[nodiscard]] bool putReport(Writer& w, const StatusReport& r, std::string_view parent) {
  w.put("{\"name\":");
  if (!w.string(r.name)) return false;
  w.put(",\"status\":");
  w.status(r.status);
  w.put(",\"timestamp\":");
  w.timestamp(r.timestamp);
  if (!r.message.empty()) {
    w.put(",\"message\":");
    if (!w.string(r.message)) return false;
  }
  if (const auto& d = r.details; !d.empty()) {
    w.put(",\"details\":{");
    bool first = true;
    if (d.ownStatus) {
      w.put("\"own_status\":");
      w.status(*d.ownStatus);
      first = false;
    }
    if (!d.children.empty()) {
      if (!first) w.put(',');
      w.put("\"children\":[");
      for (std::size_t i = 0; i < d.children.size(); ++i) {
        if (i > 0) w.put(',');
        if (!putReport(w, d.children[i], d.children[i].parent)) return false;
        w.put('}');
      }
      w.put(']');
      first = false;
    }
    if (!d.metrics.empty()) {
      // JsonObject text is nlohmann's compact dump already; the reference re-parses and dumps it
      // again, which gives the same bytes.
      if (!first) w.put(',');
      w.put("\"metrics\":");
      w.put(d.metrics.text());
    }
    w.put('}');
  }
  if (!parent.empty()) {
    w.put(",\"parent\":");
    if (!w.string(parent)) return false;
  }
  return true;
}

[[nodiscard]] bool putMeta(Writer& w, const Meta& m) {
  w.put(",\"meta\":{\"id\":");
  if (!w.string(m.id)) return false;
  w.put(",\"sender\":");
  if (!w.string(m.sender)) return false;
  w.put(",\"ts\":");
  w.timestamp(m.ts);
  w.put(",\"trace_level\":");
  w.integer(m.traceLevel);
  w.put(",\"message_type\":");
  if (!w.string(m.messageType)) return false;
  w.put(",\"tags\":[");
  for (std::size_t i = 0; i < m.tags.size(); ++i) {
    if (i > 0) w.put(',');
    if (!w.string(m.tags[i])) return false;
  }
  w.put("]}}");
  return true;
}

}  // namespace

bool fastEncodeStatus(std::string& out, const StatusReport& report, std::string_view parent, std::int64_t pid,
                      std::string_view hostname, const Meta& meta) {
  Writer w(out, 320 + report.message.size());
  w.put("{\"data\":");
  if (!putReport(w, report, parent)) return false;
  w.put(",\"pid\":");
  w.integer(pid);
  w.put(",\"hostname\":");
  if (!w.string(hostname)) return false;
  w.put('}');
  return putMeta(w, meta);
}

bool fastEncode(std::string& out, const StatusUpdate& status, const Meta& meta) {
  return fastEncodeStatus(out, status, status.parent, status.pid, status.hostname, meta);
}

bool fastEncode(std::string& out, const Heartbeat& h, const Meta& meta) {
  Writer w(out, 320 + h.metrics.text().size());
  w.put("{\"data\":{\"service_id\":");
  if (!w.string(h.serviceId)) return false;
  w.put(",\"timestamp\":");
  w.timestamp(h.timestamp);
  w.put(",\"status\":");
  w.status(h.status);
  if (h.sequence) {
    w.put(",\"sequence\":");
    w.integer(*h.sequence);
  }
  if (h.uptimeSeconds) {
    w.put(",\"uptime_seconds\":");
    w.number(*h.uptimeSeconds);
  }
  if (h.nextHeartbeatExpected) {
    w.put(",\"next_heartbeat_expected\":");
    w.timestamp(*h.nextHeartbeatExpected);
  }
  if (!h.metrics.empty()) {
    w.put(",\"metrics\":");
    w.put(h.metrics.text());
  }
  w.put('}');
  return putMeta(w, meta);
}

}  // namespace tcs::protocol::detail
