// SPDX-License-Identifier: MIT
// Hand-written encoders for status and heartbeat messages (see fast_codec.hpp). Every rule here
// reproduces what nlohmann::ordered_json::dump(-1, ' ', false, error_handler_t::replace) writes
// for the tree codec.cpp builds; tests/libtcs/protocol_test.cpp compares the two on the upstream
// vectors and on random payloads.
#include "fast_codec.hpp"

#include <charconv>

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

// A JSON string as nlohmann writes it with ensure_ascii = false: `"` `\` and the control
// characters escaped (\b \t \n \f \r, else \u00xx in lower-case hex), everything else, 0x7F and
// valid multi-byte sequences included, copied. @return false for invalid UTF-8.
[[nodiscard]] bool putString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  const auto* run = p;  // start of the bytes not yet copied
  while (p != end) {
    const unsigned char c = *p;
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = utf8Length(p, end);
      if (n == 0) return false;
      p += n;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
    run = ++p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
  out += '"';
  return true;
}

template <class I>
void putInt(std::string& out, I value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// Doubles are rare (heartbeat uptime): nlohmann's own number format (grisu2, `1.0`, `1e-05`,
// `null` for NaN and infinities) keeps them identical without re-implementing it.
void putDouble(std::string& out, double value) {
  out += Json(value).dump();
}

void putTimestamp(std::string& out, Timestamp ts) {
  const auto f = toFields(ts);
  out += '[';
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (i > 0) out += ',';
    putInt(out, f[i]);
  }
  out += ']';
}

void putStatus(std::string& out, Status s) {
  out += '"';
  out += toString(s);  // lower-case ASCII words: nothing to escape
  out += '"';
}

// The keys of a report up to `parent` (codec.cpp's writeReport), without the closing brace.
[[nodiscard]] bool putReport(std::string& out, const StatusReport& r, std::string_view parent) {
  out += "{\"name\":";
  if (!putString(out, r.name)) return false;
  out += ",\"status\":";
  putStatus(out, r.status);
  out += ",\"timestamp\":";
  putTimestamp(out, r.timestamp);
  if (!r.message.empty()) {
    out += ",\"message\":";
    if (!putString(out, r.message)) return false;
  }
  if (const auto& d = r.details; !d.empty()) {
    out += ",\"details\":{";
    bool first = true;
    if (d.ownStatus) {
      out += "\"own_status\":";
      putStatus(out, *d.ownStatus);
      first = false;
    }
    if (!d.children.empty()) {
      out += first ? "\"children\":[" : ",\"children\":[";
      for (std::size_t i = 0; i < d.children.size(); ++i) {
        if (i > 0) out += ',';
        if (!putReport(out, d.children[i], d.children[i].parent)) return false;
        out += '}';
      }
      out += ']';
      first = false;
    }
    if (!d.metrics.empty()) {
      // JsonObject text is nlohmann's compact dump already; the reference re-parses and dumps it
      // again, which gives the same bytes.
      out += first ? "\"metrics\":" : ",\"metrics\":";
      out += d.metrics.text();
    }
    out += '}';
  }
  if (!parent.empty()) {
    out += ",\"parent\":";
    if (!putString(out, parent)) return false;
  }
  return true;
}

[[nodiscard]] bool putMeta(std::string& out, const Meta& m) {
  out += ",\"meta\":{\"id\":";
  if (!putString(out, m.id)) return false;
  out += ",\"sender\":";
  if (!putString(out, m.sender)) return false;
  out += ",\"ts\":";
  putTimestamp(out, m.ts);
  out += ",\"trace_level\":";
  putInt(out, m.traceLevel);
  out += ",\"message_type\":";
  if (!putString(out, m.messageType)) return false;
  out += ",\"tags\":[";
  for (std::size_t i = 0; i < m.tags.size(); ++i) {
    if (i > 0) out += ',';
    if (!putString(out, m.tags[i])) return false;
  }
  out += "]}}";
  return true;
}

}  // namespace

bool fastEncodeStatus(std::string& out, const StatusReport& report, std::string_view parent, std::int64_t pid,
                      std::string_view hostname, const Meta& meta) {
  out.clear();
  out.reserve(320 + report.message.size());
  out += "{\"data\":";
  if (!putReport(out, report, parent)) return false;
  out += ",\"pid\":";
  putInt(out, pid);
  out += ",\"hostname\":";
  if (!putString(out, hostname)) return false;
  out += '}';
  return putMeta(out, meta);
}

bool fastEncode(std::string& out, const StatusUpdate& status, const Meta& meta) {
  return fastEncodeStatus(out, status, status.parent, status.pid, status.hostname, meta);
}

bool fastEncode(std::string& out, const Heartbeat& h, const Meta& meta) {
  out.clear();
  out.reserve(320 + h.metrics.text().size());
  out += "{\"data\":{\"service_id\":";
  if (!putString(out, h.serviceId)) return false;
  out += ",\"timestamp\":";
  putTimestamp(out, h.timestamp);
  out += ",\"status\":";
  putStatus(out, h.status);
  if (h.sequence) {
    out += ",\"sequence\":";
    putInt(out, *h.sequence);
  }
  if (h.uptimeSeconds) {
    out += ",\"uptime_seconds\":";
    putDouble(out, *h.uptimeSeconds);
  }
  if (h.nextHeartbeatExpected) {
    out += ",\"next_heartbeat_expected\":";
    putTimestamp(out, *h.nextHeartbeatExpected);
  }
  if (!h.metrics.empty()) {
    out += ",\"metrics\":";
    out += h.metrics.text();
  }
  out += '}';
  return putMeta(out, meta);
}

}  // namespace tcs::protocol::detail
