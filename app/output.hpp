// app/output.hpp
// Output files that are either complete or absent: AtomicFile writes to a hidden temporary file
// next to the target and renames it over the target on commit(). If the process dies or the
// writer is destroyed without commit(), no partial file carries the target's name (and the
// temporary is removed when the writer is destroyed).
#pragma once

#include <fstream>
#include <string>

namespace app {

class AtomicFile {
 public:
  /// Opens the temporary file; throws std::runtime_error (naming the path) if it cannot.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return os_; }
  const std::string& path() const { return path_; }
  /// Flushes, closes and renames into place; throws std::runtime_error on any I/O error.
  void commit();

 private:
  std::string path_, tmp_;
  std::ofstream os_;
  bool done_ = false;
};

/// Writes `text` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace app
