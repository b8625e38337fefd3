// SPDX-License-Identifier: MIT
#include "writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <system_error>

#include "tcs/unit_name.hpp"

namespace tcs::unitgen {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throwErrno(const std::string& what, const fs::path& p) {
  throw fs::filesystem_error(what, p, std::error_code(errno, std::generic_category()));
}

std::string tempName(const fs::path& dest) {
  static std::mt19937_64 rng{std::random_device{}()};
  return fmt::format(".#{}.{:016x}", dest.filename().string(), rng());
}

std::optional<std::string> readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether @p dest already holds @p e; throws if a directory is in the way. One lstat().
bool isCurrent(const fs::path& dest, const Entry& e) {
  struct stat st {};
  if (::lstat(dest.c_str(), &st) != 0) return false;
  if (S_ISDIR(st.st_mode))
    throw fs::filesystem_error("a directory is in the way of", dest, std::make_error_code(std::errc::is_a_directory));
  std::error_code ec;
  if (e.kind == Entry::Kind::Symlink) return S_ISLNK(st.st_mode) && fs::read_symlink(dest, ec) == fs::path(e.content);
  return S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) == e.content.size() && readFile(dest) == e.content;
}

void writeTemp(const fs::path& tmp, const Entry& e) {
  if (e.kind == Entry::Kind::Symlink) {
    if (::symlink(e.content.c_str(), tmp.c_str()) != 0) throwErrno("cannot create symlink", tmp);
    return;
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throwErrno("cannot create", tmp);
  const char* p = e.content.data();
  std::size_t left = e.content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      throwErrno("cannot write", tmp);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throwErrno("cannot write", tmp);
}

bool isOwnedDropIn(const fs::path& p) {
  std::ifstream in(p);
  std::string first;
  std::getline(in, first);
  return first.starts_with(kHeaderPrefix);
}

}  // namespace

WriteReport writeUnitSet(const UnitSet& units, const fs::path& dir) {
  WriteReport report;
  fs::create_directories(dir);

  // Phase 1: every changed file to a temporary beside its destination.
  std::vector<std::pair<fs::path, fs::path>> pending;  // tmp → dest
  std::set<std::string> madeDirs{dir.string()};
  try {
    for (const auto& [rel, entry] : units) {
      const fs::path dest = dir / rel;
      if (isCurrent(dest, entry)) {
        report.unchanged.push_back(rel);
        continue;
      }
      // Output paths are at most one directory deep (`….service.d/`, `tcs.target.wants/`).
      const fs::path parent = dest.parent_path();
      if (madeDirs.insert(parent.string()).second && ::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
        throwErrno("cannot create directory", parent);
      const fs::path tmp = dest.parent_path() / tempName(dest);
      pending.emplace_back(tmp, dest);
      writeTemp(tmp, entry);
      report.written.push_back(rel);
    }
  } catch (...) {
    std::error_code ec;
    for (const auto& [tmp, dest] : pending) fs::remove(tmp, ec);
    throw;
  }
  // Unit files are read at boot: make every new file durable before a rename publishes it.
  // One syncfs() instead of an fsync() per file keeps 10,000 services well under a second.
  if (!pending.empty()) {
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd < 0 || ::syncfs(dirFd) != 0) {
      const int err = errno;
      if (dirFd >= 0) ::close(dirFd);
      std::error_code ec;
      for (const auto& [tmp, dest] : pending) fs::remove(tmp, ec);
      errno = err;
      throwErrno("cannot sync", dir);
    }
    ::close(dirFd);
  }
  // Phase 2: publish. rename() replaces a file or a symlink atomically.
  for (const auto& [tmp, dest] : pending)
    if (::rename(tmp.c_str(), dest.c_str()) != 0) throwErrno("cannot rename into place", dest);

  // Phase 3: stale files of services that are no longer configured (and the supervisor's
  // credentials drop-in once the nats: section names no secret file).
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(dir, ec)) {
    const std::string name = d.path().filename().string();
    const bool ours = name.starts_with(unit_name::kTemplatePrefix) || name == fmt::format("{}.d", kSupervisorUnit);
    if (!d.is_directory() || !name.ends_with(".service.d") || !ours) continue;
    const std::string rel = fmt::format("{}/{}", name, kDropInName);
    const fs::path dropIn = d.path() / kDropInName;
    if (units.count(rel) || !fs::is_regular_file(dropIn) || !isOwnedDropIn(dropIn)) continue;
    fs::remove(dropIn);
    report.removed.push_back(rel);
    if (fs::is_empty(d.path(), ec)) fs::remove(d.path(), ec);
  }
  const fs::path wants = dir / "tcs.target.wants";
  for (const auto& d : fs::directory_iterator(wants, ec)) {
    const std::string name = d.path().filename().string();
    const std::string rel = "tcs.target.wants/" + name;
    if (units.count(rel) || !d.is_symlink() || !unit_name::parseUnitName(name)) continue;
    if (fs::read_symlink(d.path(), ec).filename() != "tcs@.service") continue;
    fs::remove(d.path());
    report.removed.push_back(rel);
  }
  if (fs::is_directory(wants, ec) && fs::is_empty(wants, ec)) fs::remove(wants, ec);
  return report;
}

WriteReport removeUnitSet(const fs::path& dir) {
  WriteReport report;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return report;
  // An empty set: phase 3 of the writer removes every drop-in and link of ours.
  report = writeUnitSet({}, dir);
  for (const std::string_view name : {kTemplateName, kTargetName}) {
    const fs::path p = dir / name;
    if (!fs::is_symlink(p, ec) && fs::is_regular_file(p, ec) && isOwnedDropIn(p)) {
      fs::remove(p);
      report.removed.emplace_back(name);
    }
  }
  return report;
}

std::string formatDryRun(const UnitSet& units) {
  std::string out;
  for (const auto& [rel, entry] : units) {
    if (entry.kind == Entry::Kind::Symlink)
      out += fmt::format("--- {} -> {} ---\n", rel, entry.content);
    else
      out += fmt::format("--- {} ---\n{}", rel, entry.content);
  }
  return out;
}

}  // namespace tcs::unitgen
