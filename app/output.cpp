// app/output.cpp — see output.hpp. The temporary's name carries the process id only so two
// concurrent writers never share it; it never influences a run.
#include "app/output.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

namespace app {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const auto slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string() : path_.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  if (base.empty()) throw std::runtime_error(fmt::format("{}: not a file name", path_));
  tmp_ = fmt::format("{}.{}.tmp{}", dir, base, static_cast<long>(::getpid()));
  os_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!os_) throw std::runtime_error(fmt::format("{}: cannot write: {}", path_, std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  os_.close();
  std::remove(tmp_.c_str());
}

void AtomicFile::commit() {
  os_.flush();
  const bool ok = static_cast<bool>(os_);
  os_.close();
  if (!ok || os_.fail()) {
    std::remove(tmp_.c_str());
    done_ = true;
    throw std::runtime_error(fmt::format("{}: write failed", path_));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp_.c_str());
    done_ = true;
    throw std::runtime_error(fmt::format("{}: cannot rename into place: {}", path_, std::strerror(e)));
  }
  done_ = true;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.stream() << text;
  f.commit();
}

}  // namespace app
