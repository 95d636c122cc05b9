namespace CleanCrm.Application; public static class Placeholder {}
