# Included by CMake right after llama.cpp's project() call (run.sh passes it as
# CMAKE_PROJECT_llama.cpp_INCLUDE). llama-cpp-python's CMakeLists.txt forces
# LLAMA_BUILD_COMMON on; the Python package never links that library (only the command-line
# tools and the multimodal library do, and neither is built), so it is turned off again here,
# where llama.cpp's own option() will read it. It is a third of the compile.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
