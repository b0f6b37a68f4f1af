// app/output.cpp — see output.hpp. The temporary's name carries the process id only so two
// concurrent writers never share it; it never influences a run.
#include "app/output.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace app {

bool FdStreamBuf::drain() {
  const char* p = pbase();
  while (p < pptr()) {
    const ssize_t n = ::write(fd_, p, static_cast<std::size_t>(pptr() - p));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (error_ == 0) error_ = n < 0 ? errno : EIO;
      reset();  // drop the rest: the file is failed and will not be committed
      return false;
    }
    p += n;
  }
  reset();
  return true;
}

FdStreamBuf::int_type FdStreamBuf::overflow(int_type ch) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(ch, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
  }
  return traits_type::not_eof(ch);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const auto slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string() : path_.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") throw std::runtime_error(fmt::format("{}: not a file name", path_));
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("{}: cannot write: {}", path_, std::strerror(EISDIR)));
    direct_ = !S_ISREG(st.st_mode);
  }
  if (direct_) {
    tmp_ = path_;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  } else {
    tmp_ = fmt::format("{}.{}.tmp{}", dir, base, static_cast<long>(::getpid()));
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  }
  if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot write: {}", path_, std::strerror(errno)));
  buf_.set_fd(fd_);
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  if (fd_ >= 0) ::close(fd_);
  if (!direct_) std::remove(tmp_.c_str());
}

void AtomicFile::fail(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!direct_) std::remove(tmp_.c_str());
  done_ = true;
  throw std::runtime_error(fmt::format("{}: {}: {}", path_, what, std::strerror(err)));
}

void AtomicFile::commit() {
  if (done_) throw std::runtime_error(fmt::format("{}: already written", path_));
  if (!buf_.drain() || buf_.error() != 0) fail("cannot write", buf_.error() != 0 ? buf_.error() : EIO);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot write", errno);
  if (!direct_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename into place", errno);
  done_ = true;
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.stream() << text;
  f.commit();
}

void check_writable_target(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  if (fs::is_directory(target, ec)) throw std::runtime_error(fmt::format("{}: cannot write: {}", path, std::strerror(EISDIR)));
  if (fs::exists(target, ec) && !fs::is_regular_file(target, ec)) return;  // a device or FIFO: written directly
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // The same reasons, in the same words, as the AtomicFile would give at the end.
  if (::access(dir.c_str(), W_OK) != 0)
    throw std::runtime_error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
}

}  // namespace app
