namespace CleanCrm.Infrastructure; public static class Placeholder {}
