// app/output.hpp
// Output files that are either complete or absent: AtomicFile writes to a hidden temporary file
// next to the target and renames it over the target on commit(). If the process dies or the
// writer is destroyed without commit(), no partial file carries the target's name (and the
// temporary is removed when the writer is destroyed). A target that exists and is not a regular
// file (/dev/stdout, /dev/null, a FIFO) is written directly: renaming over it would replace the
// device node, not write to it.
// Every error (cannot create, a write that fails with ENOSPC or EFBIG, close, rename) is a
// std::runtime_error whose text names the target and the system's reason:
//   out/trace.txt: cannot write: No space left on device
#pragma once

#include <optional>
#include <ostream>
#include <streambuf>
#include <string>

namespace app {

/// A streambuf over a file descriptor that remembers the first write error (errno).
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd = -1) : fd_(fd) { reset(); }
  void set_fd(int fd) { fd_ = fd; }
  /// Writes out the buffer; false (and error() set) if a write failed.
  bool drain();
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override;
  int sync() override { return drain() ? 0 : -1; }

 private:
  void reset() { setp(buf_, buf_ + sizeof buf_); }
  int fd_;
  int error_ = 0;
  char buf_[64 * 1024];
};

class AtomicFile {
 public:
  /// Opens the temporary file; throws std::runtime_error (naming the path) if it cannot.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return os_; }
  const std::string& path() const { return path_; }
  /// Flushes, closes and renames into place; throws std::runtime_error on any I/O error, after
  /// removing the temporary.
  void commit();

 private:
  [[noreturn]] void fail(const char* what, int err);
  std::string path_, tmp_;
  bool direct_ = false;  ///< writing the target itself (not a regular file): no temporary, no rename
  int fd_ = -1;
  FdStreamBuf buf_;
  std::ostream os_{&buf_};
  bool done_ = false;
};

/// The whole of a file, or nothing (errno says why) if it cannot be opened.
std::optional<std::string> read_text_file(const std::string& path);

/// Writes `text` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, const std::string& text);

/// Throws, as an AtomicFile would ("PATH: cannot write: REASON"), if one could not be committed
/// at `path`: the path is a directory, or its directory is missing or not writable. For outputs
/// written after long work (a campaign's --coverage, a shrink's -o), so bad input is said before
/// the work, not after it.
void check_writable_target(const std::string& path);

}  // namespace app
